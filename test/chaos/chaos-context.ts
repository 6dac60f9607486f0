/** What every phase of a chaos run shares. */
export interface ChaosContext {
  seed: string;
  scale: number;
  /** Scratch space: PostgreSQL's data, the services' data and logs. */
  workDir: string;
  logDir: string;
  /** Environment every service process gets (each phase adds its database and its own settings). */
  baseEnv: Record<string, string>;
  callbackToken: string;
  log(message: string): void;
}
