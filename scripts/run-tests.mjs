// Runs the compiled test suite against a real PostgreSQL: the one in DATABASE_URL when set,
// otherwise an embedded one started for this run. Prints a last line "N passed, N failed".
//   node scripts/run-tests.mjs [filter ...]   (filters match test file paths)
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = process.cwd();
const dist = process.env.TEST_DIST ?? join(root, 'dist');
const filters = process.argv.slice(2);

async function walk(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (/\.(test|spec)\.js$/.test(entry.name)) out.push(path);
  }
  return out;
}

const files = [...(await walk(join(dist, 'src'))), ...(await walk(join(dist, 'test')))]
  .filter((f) => filters.length === 0 || filters.some((flt) => relative(dist, f).includes(flt)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let embedded;
let baseUrl = process.env.DATABASE_URL;
if (!baseUrl) {
  const { startEmbeddedPostgres } = await import(join(dist, 'src/database/embedded-postgres.js'));
  const dir = await mkdtemp(join(tmpdir(), 'archiver-test-pg-'));
  embedded = await startEmbeddedPostgres(dir);
  embedded.dir = dir;
  baseUrl = embedded.url;
  console.log(`using an embedded PostgreSQL on port ${embedded.port}`);
} else {
  console.log('using the PostgreSQL in DATABASE_URL');
}

const tapFile = join(await mkdtemp(join(tmpdir(), 'archiver-tap-')), 'result.tap');
const env = { ...process.env, TEST_DATABASE_URL: baseUrl, NODE_ENV: 'test' };
delete env.DATABASE_URL;
const args = [
  '--enable-source-maps',
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 1}`,
  `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 300000}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tapFile}`,
  ...files,
];
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

if (embedded) {
  await embedded.stop().catch(() => undefined);
  await rm(embedded.dir, { recursive: true, force: true }).catch(() => undefined);
}

const tap = await readFile(tapFile, 'utf8').catch(() => '');
const count = (name) => Number((new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap) ?? [])[1] ?? 0);
const passed = count('pass');
// Skipped, unfinished or cancelled tests are not passes.
const failed = count('fail') + count('cancelled') + count('skipped') + count('todo');
const exitCode = code !== 0 || failed > 0 || passed === 0 ? 1 : 0;
console.log(`${passed} passed, ${failed + (exitCode && failed === 0 ? 1 : 0)} failed`);
process.exit(exitCode);
