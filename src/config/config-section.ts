import { z } from 'zod';

export interface ConfigProblem {
  key: string;
  message: string;
}

/**
 * One part of the configuration: its keys (environment variable names, kept as the field names so a
 * key in the README is a key in the code), the rules that tie them together, and the DI token under
 * which the validated, frozen section is provided. Classes inject their section, never the whole.
 */
export interface ConfigSection<T> {
  readonly name: string;
  /** DI token of the validated section. */
  readonly KEY: symbol;
  /** Validates the section from the flat environment; every problem is named, no value is echoed. */
  parse(env: Record<string, string | undefined>): { value?: T; problems: ConfigProblem[] };
}

/** The validated value of a section. */
export type SectionOf<S> = S extends ConfigSection<infer T> ? T : never;

export function defineConfigSection<Shape extends z.ZodRawShape>(
  name: string,
  shape: Shape,
  crossKeyProblems: (env: Record<string, string | undefined>) => ConfigProblem[] = () => [],
): ConfigSection<Readonly<z.output<z.ZodObject<Shape>>>> {
  const schema = z.object(shape);
  return {
    name,
    KEY: Symbol(`config:${name}`),
    parse(env) {
      const result = schema.safeParse(env);
      const problems: ConfigProblem[] = result.success
        ? []
        : result.error.issues.map((issue) => ({
            key: issue.path.map(String).join('.') || '(config)',
            message: issue.code === 'invalid_type' ? 'has the wrong type or is missing' : issue.message,
          }));
      for (const problem of crossKeyProblems(env)) {
        if (!problems.some((p) => p.key === problem.key)) problems.push(problem);
      }
      return result.success && problems.length === 0
        ? { value: deepFreeze(result.data), problems }
        : { problems };
    },
  };
}

export const present = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
