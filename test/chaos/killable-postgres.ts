import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';
import { TcpProxy } from '../support/tcp-proxy';

/** Pid and state letter of every process, from /proc. */
async function processTable(): Promise<Map<number, { ppid: number; state: string }>> {
  const table = new Map<number, { ppid: number; state: string }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.set(Number(name), { state: fields[0], ppid: Number(fields[1]) });
  }
  return table;
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X';
}

/**
 * A real PostgreSQL (embedded-postgres binaries) that can be SIGKILLed and started again on the
 * same data, behind a TCP proxy so the address clients use stays the same across restarts.
 */
export class KillablePostgres {
  private handle?: EmbeddedPostgresHandle;
  private readonly proxy = new TcpProxy('127.0.0.1', 0);
  private readonly logLines: string[] = [];

  private constructor(private readonly dir: string) {}

  static async start(dir: string): Promise<KillablePostgres> {
    const pg = new KillablePostgres(dir);
    await pg.proxy.start();
    await pg.boot();
    return pg;
  }

  /** A URL of `database` through the proxy (stable across restarts). */
  url(database = 'postgres'): string {
    if (!this.handle) throw new Error('PostgreSQL is not running');
    const url = new URL(this.handle.url);
    url.port = String(this.proxy.port);
    url.pathname = `/${database}`;
    return url.toString();
  }

  get running(): boolean {
    return this.handle !== undefined;
  }

  /** The last lines PostgreSQL logged, for evidence when it does not come back. */
  recentLog(): string {
    return this.logLines.slice(-40).join('\n');
  }

  async createDatabase(name: string): Promise<string> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** SIGKILLs the postmaster and every process it started, as a crash of the machine would. */
  async kill(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    this.handle = undefined;
    const pidFile = join(handle.dataDir, 'postmaster.pid');
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    const children = [...(await processTable())].filter(([, p]) => p.ppid === pid).map(([child]) => child);
    for (const target of [pid, ...children]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // In the same tick: lets embedded-postgres see its child exit, so it never waits for it again.
    void handle.stop().catch(() => undefined);
    const deadline = Date.now() + 15_000;
    for (const target of [pid, ...children]) {
      while ((await alive(target)) && Date.now() < deadline) await delay(50);
    }
  }

  /** Starts PostgreSQL on the same data (crash recovery runs) and points the proxy at it. */
  async restart(): Promise<void> {
    if (this.handle) return;
    await this.boot();
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.stop().catch(() => undefined);
    await this.proxy.stop();
  }

  private async boot(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= 20; attempt++) {
      try {
        const handle = await startEmbeddedPostgres(this.dir, (line) => {
          this.logLines.push(line);
          if (this.logLines.length > 400) this.logLines.splice(0, 200);
        });
        this.proxy.pointAt(handle.port);
        this.handle = handle;
        return;
      } catch (error) {
        lastError = error;
        await delay(500);
      }
    }
    const dataDir = join(this.dir, 'pgdata');
    throw new Error(
      `PostgreSQL did not start again (data ${existsSync(dataDir) ? dataDir : 'missing'}): ${String(lastError)}\n${this.recentLog()}`,
    );
  }
}
