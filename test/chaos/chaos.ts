// The chaos suite at full size: `npm run chaos`.
//   CHAOS_SEED   replays a run (any string; printed at the start of every run)
//   CHAOS_SCALE  1 is the full run (about 5-8 minutes on two cores); 0.1 a small one
//   CHAOS_KEEP=1 keeps the work directory (service logs, data) even when every invariant holds
// Exits 1 when an invariant fails, after printing the evidence.
import { formatSummary, runChaos } from './chaos-run';

async function main(): Promise<number> {
  const scale = Number(process.env.CHAOS_SCALE ?? '1');
  if (!(scale > 0 && scale <= 4)) {
    console.error(`CHAOS_SCALE must be a number in (0, 4], got ${process.env.CHAOS_SCALE}`);
    return 2;
  }
  const report = await runChaos({
    seed: process.env.CHAOS_SEED || undefined,
    scale,
    log: (line) => console.log(line),
    keepWorkDir: process.env.CHAOS_KEEP === '1',
  });
  console.log(formatSummary(report));
  return report.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(2);
  },
);
