import { z } from 'zod';
import { RETRYABLE_STATES, TRANSFER_STATES, type TransferState } from '../transfers/transfer-state';
import { decodeCursor, type TransferCursor } from './transfer-cursor';

/** Which transfers an operator means: every field narrows the set; empty lists mean "any". */
export interface TransferFilter {
  states: TransferState[];
  /** `null` stands for "no cause recorded" (e.g. transient retries). */
  causes: (string | null)[];
  sender?: string;
  platform?: string;
  dateField: 'created' | 'updated';
  from?: Date;
  to?: Date;
  /** The search text (`q`): the start of an envelope id, or part of an envelope name or sender address. */
  search?: string;
}

/** The cause filter value that matches transfers without a cause. */
export const NO_CAUSE = 'none';

export const LIST_LIMIT = { default: 50, max: 200 } as const;
export const BULK_RETRY_LIMIT = { default: 100, max: 500 } as const;
export const DISMISS_REASON = { min: 3, max: 500 } as const;

/**
 * The error of a parameter that takes one value: a repeated query parameter arrives as an array,
 * and is named as such; anything else gets `message` (zod's own when absent).
 */
const oneValue =
  (message?: string) =>
  (issue: { input?: unknown }): string | undefined =>
    Array.isArray(issue.input) ? 'is given more than once' : message;

/** Control characters PostgreSQL cannot store (NUL) or an operator would not type; tab and newlines pass. */
const CONTROL_CHARACTERS = /(?![\t\n\r])\p{Cc}/u;

/**
 * Text that may be the start of an envelope id. Ids are opaque (GUIDs, base64 package ids, ...), so
 * such text is looked for both at the start of ids and within names and addresses.
 */
export const ENVELOPE_ID_PREFIX = /^[\x21-\x7e]+$/;
export const SEARCH_TEXT = { min: 3, max: 200 } as const;

/** One value, a repeated parameter (`?state=a&state=b`) or a comma-separated list (`?state=a,b`). */
const list = <T extends z.ZodType<string, string>>(item: T, description: string) =>
  z
    .union([z.string(), z.array(z.string()).max(50)])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .pipe(z.array(item).min(1, { error: 'must name at least one value' }))
    .meta({ description });

const state = z.enum(TRANSFER_STATES, {
  error: (issue) => `${JSON.stringify(issue.input)} is not a state (${TRANSFER_STATES.join(', ')})`,
});

const cause = z
  .string()
  .regex(/^[a-z0-9_]{1,64}$/, { error: 'must be a cause code such as corrupt_pdf, or none' });

const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: oneValue('must be an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T08:00:00Z'),
  })
  .transform((s) => new Date(s));

const filterFields = {
  state: list(
    state,
    `Transfer states (${TRANSFER_STATES.join(', ')}); repeat or comma-separate for several.`,
  ).optional(),
  cause: list(
    cause,
    `Causes such as corrupt_pdf or token_rejected; \`${NO_CAUSE}\` matches transfers without a cause.`,
  ).optional(),
  sender: z
    .string({ error: oneValue() })
    .trim()
    .max(320)
    .regex(/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u, { error: 'must be an e-mail address' })
    .optional()
    .meta({ description: "The sender's e-mail address (case-insensitive, exact)." }),
  platform: z
    .string({ error: oneValue() })
    .regex(/^[a-z0-9_-]{1,64}$/, {
      error: 'must be a platform instance name (lower-case letters, digits, _ and -)',
    })
    .optional()
    .meta({ description: 'The platform instance, as named in the transfer list.' }),
  dateField: z
    .enum(['created', 'updated'], { error: oneValue('must be created or updated') })
    .default('created')
    .meta({ description: 'Which timestamp `from` and `to` apply to.' }),
  from: instant.optional().meta({ description: 'Inclusive lower bound (ISO 8601).' }),
  to: instant.optional().meta({ description: 'Exclusive upper bound (ISO 8601).' }),
  q: z
    .string({ error: oneValue() })
    .transform((v) => v.trim().normalize('NFC'))
    .refine((v) => !/\p{Cc}/u.test(v), { error: 'must not contain control characters', abort: true })
    .refine((v) => Array.from(v).length <= SEARCH_TEXT.max, {
      error: `must be at most ${SEARCH_TEXT.max} characters`,
      abort: true,
    })
    .refine((v) => Array.from(v).length >= SEARCH_TEXT.min, {
      error: `must be at least ${SEARCH_TEXT.min} characters: the start of an envelope id, or part of an envelope name or sender address`,
    })
    .optional()
    .meta({
      description:
        'Search: the start of an envelope id (or all of it), or part of the envelope name or of the ' +
        `sender's address (case-insensitive, ${SEARCH_TEXT.min} to ${SEARCH_TEXT.max} characters).`,
    }),
};

type FilterInput = z.output<z.ZodObject<typeof filterFields>>;

function checkRange(value: { from?: Date; to?: Date }, ctx: z.RefinementCtx): void {
  if (value.from && value.to && value.from >= value.to) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
  }
}

function toFilter(input: FilterInput): TransferFilter {
  return {
    states: input.state ?? [],
    causes: [...new Set(input.cause ?? [])].map((c) => (c === NO_CAUSE ? null : c)),
    sender: input.sender,
    platform: input.platform,
    dateField: input.dateField,
    from: input.from,
    to: input.to,
    search: input.q,
  };
}

const cursor = z
  .string({ error: oneValue() })
  .max(200)
  .transform((value, ctx) => {
    const decoded = decodeCursor(value);
    if (!decoded) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this API' });
      return z.NEVER;
    }
    return decoded;
  })
  .meta({ description: 'The `nextCursor` of the previous page.' });

export interface TransferListQuery {
  filter: TransferFilter;
  limit: number;
  cursor?: TransferCursor;
}

/** `GET /admin/transfers` query parameters. */
export const transferListQuerySchema = z
  .strictObject({
    ...filterFields,
    // Digits only: no signs, exponents, hex or blanks that Number() would take.
    limit: z
      .string({ error: oneValue('must be a whole number') })
      .regex(/^[0-9]+$/, { error: 'must be a whole number' })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(1, { error: 'must be at least 1' })
          .max(LIST_LIMIT.max, { error: `must be at most ${LIST_LIMIT.max}` }),
      )
      .default(LIST_LIMIT.default)
      .meta({ description: `Page size (default ${LIST_LIMIT.default}, at most ${LIST_LIMIT.max}).` }),
    cursor: cursor.optional(),
  })
  .superRefine(checkRange)
  .transform(({ limit, cursor, ...rest }): TransferListQuery => ({ filter: toFilter(rest), limit, cursor }));

export interface BulkRetryRequest {
  filter: TransferFilter;
  limit: number;
}

/** `POST /admin/transfers/retry` body: the list's filter, which must name a state or a cause. */
export const bulkRetryBodySchema = z
  .strictObject(
    {
      ...filterFields,
      limit: z
        .number({ error: 'must be a whole number' })
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(BULK_RETRY_LIMIT.max, { error: `must be at most ${BULK_RETRY_LIMIT.max}` })
        .default(BULK_RETRY_LIMIT.default)
        .meta({
          description: `How many transfers to retry at most (default ${BULK_RETRY_LIMIT.default}, at most ${BULK_RETRY_LIMIT.max}).`,
        }),
    },
    { error: 'must be a JSON object' },
  )
  .superRefine((value, ctx) => {
    checkRange(value, ctx);
    if (!value.state && !value.cause) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message: 'state or cause is required for a bulk retry',
      });
    }
    const notRetryable = (value.state ?? []).filter((s) => !RETRYABLE_STATES.includes(s));
    if (notRetryable.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message: `${notRetryable.join(', ')} cannot be retried (only ${RETRYABLE_STATES.join(', ')})`,
      });
    }
  })
  .transform(({ limit, ...rest }): BulkRetryRequest => ({ filter: toFilter(rest), limit }));

/** `POST /admin/transfers/:id/dismiss` body. */
export const dismissBodySchema = z.strictObject(
  {
    reason: z
      .string({ error: 'is required' })
      .trim()
      .min(DISMISS_REASON.min, { error: `must be at least ${DISMISS_REASON.min} characters` })
      .max(DISMISS_REASON.max, { error: `must be at most ${DISMISS_REASON.max} characters` })
      .refine((reason) => !CONTROL_CHARACTERS.test(reason), { error: 'must not contain control characters' })
      .meta({ description: 'Why nobody should retry this transfer; kept with it and in the audit log.' }),
  },
  { error: 'must be a JSON object with a reason' },
);

/** A transfer id in the path. */
export const transferIdSchema = z.guid({ error: 'must be a UUID' }).transform((id) => id.toLowerCase());
