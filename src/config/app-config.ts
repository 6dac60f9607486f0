import { PLATFORMS } from '../platforms/platforms.module';
import { deepFreeze, type ConfigProblem, type ConfigSection, type SectionOf } from './config-section';
import { CORE_SECTIONS } from './config.schema';

type CoreSections = typeof CORE_SECTIONS;

/** The validated configuration: one frozen section per part of the service, and one per platform kind. */
export type AppConfig = { readonly [K in keyof CoreSections]: SectionOf<CoreSections[K]> } & {
  readonly platforms: Readonly<Record<string, unknown>>;
};

export type ServiceConfig = AppConfig['service'];
export type DatabaseConfig = AppConfig['database'];
export type IntakeConfig = AppConfig['intake'];
export type TokensConfig = AppConfig['tokens'];
export type ArchiveConfig = AppConfig['archive'];
export type ReconciliationConfig = AppConfig['reconciliation'];
export type StorageConfig = AppConfig['storage'];
export type MailConfig = AppConfig['mail'];
export type AdminConfig = AppConfig['admin'];

/** DI token for the whole configuration (bootstrap code only; classes inject their section). */
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Validates only the given sections (tools that need a part of the configuration, such as the migration CLI). */
export function loadSections<S extends Record<string, ConfigSection<unknown>>>(
  sections: S,
  env: Record<string, string | undefined> = process.env,
): { readonly [K in keyof S]: SectionOf<S[K]> } {
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(sections)) {
    const result = section.parse(env);
    problems.push(...result.problems);
    out[name] = result.value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as { readonly [K in keyof S]: SectionOf<S[K]> };
}

/**
 * Validates the environment once, section by section. Every bad key is named; no value is ever
 * echoed back, since most of them are secrets.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const problems: ConfigProblem[] = [];
  const collect = (section: { parse: (e: typeof env) => { value?: unknown; problems: ConfigProblem[] } }) => {
    const result = section.parse(env);
    for (const p of result.problems) if (!problems.some((q) => q.key === p.key)) problems.push(p);
    return result.value;
  };
  const core: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(CORE_SECTIONS)) core[name] = collect(section);
  const platforms: Record<string, unknown> = {};
  for (const platform of PLATFORMS) platforms[platform.kind] = collect(platform.config);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({ ...core, platforms } as AppConfig);
}
