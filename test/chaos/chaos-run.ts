import { randomInt } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Violation } from './archive-checks';
import { runArchivePhase, type ArchiveReport } from './archive-phase';
import type { ChaosContext } from './chaos-context';
import { runIntakePhase, type IntakeReport } from './intake-phase';
import { KillablePostgres } from './killable-postgres';
import { SeededRandom } from './seeded-random';

export interface ChaosOptions {
  /** Any string; a random one is drawn (and printed) when absent. */
  seed?: string;
  /** 1 is the full run; fractions make a smaller one. */
  scale: number;
  /** Progress lines; they also go to chaos.log in the work directory. */
  log?: (line: string) => void;
  /** Keep the work directory (logs, data) even when every invariant holds. */
  keepWorkDir?: boolean;
}

export interface ChaosReport {
  seed: string;
  scale: number;
  workDir: string;
  workDirKept: boolean;
  durationMs: number;
  intake: IntakeReport;
  archive: ArchiveReport;
  violations: Violation[];
}

export const CHAOS_CALLBACK_TOKEN = 'chaos-callback-token-0123456789';

/**
 * The chaos run: its own PostgreSQL (killed and restarted), service processes (killed, paused),
 * the eSignAnyWhere simulator and S3 behind a fault proxy. Phase 1 checks that no acknowledged
 * callback is lost; phase 2 that archiving ends right whatever happens on the way.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const seed = options.seed ?? String(randomInt(1, 2 ** 31));
  const scale = options.scale;
  if (!(scale > 0 && scale <= 4)) throw new Error(`scale must be in (0, 4], got ${scale}`);
  const workDir = await mkdtemp(join(tmpdir(), 'archiver-chaos-'));
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const started = Date.now();
  const log = (message: string): void => {
    const line = `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`;
    appendFileSync(join(workDir, 'chaos.log'), `${line}\n`);
    options.log?.(line);
  };
  log(
    `chaos: seed ${seed}, scale ${scale} (replay with CHAOS_SEED=${seed} CHAOS_SCALE=${scale}); work in ${workDir}`,
  );

  // One generator for the whole run; each part draws from its own stream, taken in this order.
  const root = new SeededRandom(seed);
  const intakePlan = root.fork('intake-plan');
  const intakeRuntime = root.fork('intake-runtime');
  const archivePlan = root.fork('archive-plan');
  const archiveRuntime = root.fork('archive-runtime');

  const ctx: ChaosContext = {
    seed,
    scale,
    workDir,
    logDir,
    callbackToken: CHAOS_CALLBACK_TOKEN,
    log,
    baseEnv: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: join(workDir, 'data'),
      CALLBACK_TOKEN: CHAOS_CALLBACK_TOKEN,
      ESAW_BASE_URL: 'http://127.0.0.1:9/Api',
      ESAW_API_TOKEN: 'no-platform-in-this-phase',
      ESAW_MAX_RETRIES: '1',
      ESAW_CONNECT_TIMEOUT_MS: '2000',
      ESAW_RESPONSE_TIMEOUT_MS: '5000',
      ESAW_IDLE_TIMEOUT_MS: '3000',
      S3_ENDPOINT: 'http://127.0.0.1:9',
      S3_BUCKET: 'no-bucket-in-this-phase',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: 'archive',
      S3_PART_SIZE_MB: '5',
      ARCHIVE_ENABLED: 'false',
      MAIL_FROM: 'archiver@example.com',
      ALERT_TO: 'ops@example.com',
      PUBLIC_BASE_URL: 'https://archiver.example.com',
    },
  };

  const pg = await KillablePostgres.start(join(workDir, 'pg'));
  let intake: IntakeReport;
  let archive: ArchiveReport;
  try {
    log('phase 1: intake under kills');
    intake = await runIntakePhase(ctx, intakePlan, intakeRuntime, pg);
    log(`phase 1 done: ${intake.acked} acked, ${intake.refused} refused, ${intake.lost} lost`);
    log('phase 2: archive under chaos');
    archive = await runArchivePhase(ctx, archivePlan, archiveRuntime, pg);
    log(`phase 2 done: ${archive.checks.violations.length} violation(s)`);
  } finally {
    await pg.stop();
  }

  const violations: Violation[] = [
    ...intake.violations,
    ...archive.callbacksUnacked.map((id) => ({
      invariant: 'callbacks acknowledged',
      detail: `envelope ${id}: no worker acknowledged its callback in 120 s`,
    })),
    ...archive.checks.violations,
  ];
  const keep = options.keepWorkDir === true || violations.length > 0;
  if (!keep) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  return {
    seed,
    scale,
    workDir,
    workDirKept: keep,
    durationMs: Date.now() - started,
    intake,
    archive,
    violations,
  };
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

/** The summary block: what was done to the system, and every invariant's count. */
export function formatSummary(report: ChaosReport): string {
  const { intake, archive } = report;
  const c = archive.checks;
  const row = (name: string, value: string | number) => `${name.padEnd(27)}${value}`;
  const lines = [
    '==================== chaos summary ====================',
    row('seed', report.seed),
    row('scale', report.scale),
    row('duration', `${(report.durationMs / 1000).toFixed(1)} s`),
    '-- phase 1: intake under kills',
    row('callbacks', `${intake.callbacks} for ${intake.distinctEnvelopes} envelopes`),
    row('acked / refused / LOST', `${intake.acked} / ${intake.refused} / ${intake.lost}`),
    row('refused by cause', counts(intake.refusedBy)),
    row('kills', `service ${intake.serviceKills}, PostgreSQL ${intake.postgresKills}`),
    '-- phase 2: archive under chaos',
    row(
      'envelopes',
      `${archive.envelopes} (${archive.badEnvelopes} bad on purpose, ${archive.bigEnvelopes} with a multipart file)`,
    ),
    row('done / failed / other', `${c.done} / ${c.failed} / ${c.other}`),
    row('wrong state or cause', c.wrongOutcome),
    row('callbacks never acked', archive.callbacksUnacked.length),
    row('platform faults armed', counts(archive.armed.platform)),
    row('platform faults fired', counts(archive.platformFaultsFired)),
    row('S3 faults armed', counts(archive.armed.s3)),
    row('S3 faults fired', counts(archive.s3FaultsFired)),
    row(
      'kills',
      `worker ${archive.workerKills} (${archive.midUploadKills} mid-upload), PostgreSQL ${archive.postgresKills}`,
    ),
    row(
      'pauses past the lease',
      `${archive.pauses} (longest ${(archive.longestPauseMs / 1000).toFixed(1)} s)`,
    ),
    row('events skipped', `${archive.skippedEvents} (nothing left to hit)`),
    row('settled', archive.settled ? `yes, in ${(archive.durationMs / 1000).toFixed(1)} s` : 'NO'),
    row('objects checked', c.objectsChecked),
    row('leftover uploads', c.leftoverUploads),
    row('leftover staging objects', c.leftoverStaging),
    row('duplicate objects', c.duplicateObjects),
    row('mismatched objects', c.mismatchedObjects),
    row('missing objects', c.missingObjects),
    row('missing/wrong manifests', c.missingManifests),
    row('stray objects', c.strayObjects),
    row('deletes before proof', c.deletesBeforeProof),
    row('writes after the delete', c.writesAfterDelete),
    row('wrong delete counts', c.wrongDeletes),
    '-- result',
    row(
      report.violations.length === 0 ? 'PASS' : 'FAIL',
      `${report.violations.length} invariant violation(s)` +
        (report.workDirKept ? `; logs in ${report.workDir}` : ''),
    ),
  ];
  if (report.violations.length > 0) {
    lines.push('-- violations');
    const byInvariant = new Map<string, string[]>();
    for (const v of report.violations)
      byInvariant.set(v.invariant, [...(byInvariant.get(v.invariant) ?? []), v.detail]);
    for (const [invariant, details] of byInvariant) {
      lines.push(`[${invariant}] ${details.length}`);
      for (const detail of details.slice(0, 25)) lines.push(`  - ${detail}`);
      if (details.length > 25) lines.push(`  ... and ${details.length - 25} more`);
    }
  }
  lines.push('=======================================================');
  return lines.join('\n');
}
