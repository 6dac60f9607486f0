import { configSchema, crossKeyProblems, type RawConfig } from './config.schema';

export type AppConfig = Readonly<RawConfig>;

/** DI token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: readonly { key: string; message: string }[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validates the environment once. Every bad key is named; no value is ever echoed back,
 * since most of them are secrets.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const result = configSchema.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => ({
        key: issue.path.map(String).join('.') || '(config)',
        message: issue.code === 'invalid_type' ? 'has the wrong type or is missing' : issue.message,
      }));
  for (const problem of crossKeyProblems(env)) {
    if (!problems.some((p) => p.key === problem.key)) problems.push(problem);
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result.data);
}
