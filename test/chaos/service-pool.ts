import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../src/database/embedded-postgres';

/** One run of the service (dist/src/main.js) as its own process. */
interface ServiceRun {
  child: ChildProcess;
  pid: number;
  url: string;
  exited: Promise<void>;
}

export type SlotState = 'starting' | 'running' | 'paused' | 'down';

/** A place for one service process: it is killed, paused and started again in place. */
export interface ServiceSlot {
  name: string;
  state: SlotState;
  run?: ServiceRun;
  starts: number;
}

/**
 * A few service processes with the same environment, each with its log file, that the chaos runner
 * kills (SIGKILL), pauses (SIGSTOP/SIGCONT) and starts again.
 */
export class ServicePool {
  readonly slots: ServiceSlot[];
  private readonly logs = new Map<string, WriteStream>();
  private readonly tails = new Map<string, string>();

  constructor(
    private readonly prefix: string,
    count: number,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {
    this.slots = Array.from({ length: count }, (_, i) => ({
      name: `${prefix}-${i + 1}`,
      state: 'down',
      starts: 0,
    }));
    process.on('exit', this.killAllNow);
  }

  /** Last resort when the runner exits early: no service process outlives it. */
  private readonly killAllNow = (): void => {
    for (const slot of this.slots) {
      const child = slot.run?.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  };

  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.start(slot)));
  }

  running(): ServiceSlot[] {
    return this.slots.filter((s) => s.state === 'running');
  }

  slotOfPid(pid: number): ServiceSlot | undefined {
    return this.slots.find((s) => s.run?.pid === pid && s.state !== 'down');
  }

  /**
   * Starts the slot's process; retries while it cannot boot (its database may be down) until
   * `giveUpMs` has passed.
   */
  async start(slot: ServiceSlot, giveUpMs = 90_000): Promise<void> {
    if (slot.state !== 'down') return;
    slot.state = 'starting';
    const deadline = Date.now() + giveUpMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        slot.run = await this.launch(slot);
        slot.starts++;
        slot.state = 'running';
        return;
      } catch (error) {
        lastError = error;
        await delay(500);
      }
    }
    slot.state = 'down';
    throw new Error(`${slot.name} did not start: ${String(lastError)}`);
  }

  /** SIGKILL, and the exit observed. */
  async kill(slot: ServiceSlot): Promise<void> {
    const run = slot.run;
    slot.state = 'down';
    if (!run) return;
    this.note(slot, `--- SIGKILL pid ${run.pid}`);
    run.child.kill('SIGKILL');
    await run.exited;
  }

  pause(slot: ServiceSlot): void {
    if (slot.state !== 'running' || !slot.run) return;
    this.note(slot, `--- SIGSTOP pid ${slot.run.pid}`);
    slot.run.child.kill('SIGSTOP');
    slot.state = 'paused';
  }

  resume(slot: ServiceSlot): void {
    if (slot.state !== 'paused' || !slot.run) return;
    this.note(slot, `--- SIGCONT pid ${slot.run.pid}`);
    slot.run.child.kill('SIGCONT');
    slot.state = 'running';
  }

  /** SIGTERM (a paused one is woken first), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 8_000): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot) => {
        const run = slot.run;
        if (!run || slot.state === 'down') {
          slot.state = 'down';
          return;
        }
        if (slot.state === 'paused') run.child.kill('SIGCONT');
        slot.state = 'down';
        run.child.kill('SIGTERM');
        const stopped = await Promise.race([run.exited.then(() => true), delay(graceMs).then(() => false)]);
        if (!stopped) {
          run.child.kill('SIGKILL');
          await run.exited;
        }
      }),
    );
    await Promise.all([...this.logs.values()].map((s) => new Promise((resolve) => s.end(resolve))));
    this.logs.clear();
    process.off('exit', this.killAllNow);
  }

  logFile(slot: ServiceSlot): string {
    return join(this.logDir, `${slot.name}.log`);
  }

  private note(slot: ServiceSlot, line: string): void {
    this.stream(slot).write(`${new Date().toISOString()} ${line}\n`);
  }

  private stream(slot: ServiceSlot): WriteStream {
    let stream = this.logs.get(slot.name);
    if (!stream) {
      stream = createWriteStream(this.logFile(slot), { flags: 'a' });
      this.logs.set(slot.name, stream);
    }
    return stream;
  }

  private async launch(slot: ServiceSlot): Promise<ServiceRun> {
    const port = await freePort();
    const child = fork(join(__dirname, '../../src/main.js'), [], {
      env: { ...process.env, ...this.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = this.stream(slot);
    log.write(`${new Date().toISOString()} --- start #${slot.starts + 1} pid ${child.pid} port ${port}\n`);
    const keepTail = (d: Buffer): void => {
      log.write(d);
      this.tails.set(slot.name, ((this.tails.get(slot.name) ?? '') + d.toString()).slice(-4000));
    };
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${this.prefix} process exited at start:\n${this.tails.get(slot.name) ?? ''}`);
      }
      try {
        if ((await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(1_000) })).ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${this.prefix} process did not start in 30 s`);
      }
      await delay(100);
    }
    return { child, pid: child.pid!, url, exited };
  }
}
