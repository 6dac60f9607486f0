/**
 * The base of the service's own errors: a message that is safe for logs, mail and answers (never a
 * token, secret or code), a code from the error's closed set, and the underlying error as `cause`.
 * Each module maps codes it receives to its own with an exhaustive `Record<Code, ...>`, so a new code
 * does not compile until every map says what it means.
 */
export abstract class AppError<Code extends string = string> extends Error {
  protected constructor(
    message: string,
    readonly code: Code,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}
