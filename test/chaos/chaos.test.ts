import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSummary, runChaos } from './chaos-run';

// A small run of the chaos suite (`npm run chaos` is the full one). CHAOS_SEED replays a run;
// the seed of every run is printed with its summary.
describe('chaos', () => {
  it(
    'no acknowledged callback is lost and every envelope is archived once, proven, then deleted, through kills, pauses and faults',
    { timeout: 240_000 },
    async () => {
      const report = await runChaos({
        seed: process.env.CHAOS_SEED || undefined,
        scale: Number(process.env.CHAOS_TEST_SCALE ?? '0.1'),
      });
      console.log(formatSummary(report));
      assert.ok(report.intake.acked > 0, 'phase 1 acknowledged no callback at all');
      assert.ok(report.intake.serviceKills > 0 && report.intake.postgresKills > 0, 'phase 1 killed nothing');
      assert.ok(report.archive.workerKills > 0 || report.archive.skippedEvents > 0, 'phase 2 killed nothing');
      assert.deepEqual(
        report.violations.map((v) => `[${v.invariant}] ${v.detail}`),
        [],
        `seed ${report.seed}: invariants failed (logs in ${report.workDir})`,
      );
    },
  );
});
