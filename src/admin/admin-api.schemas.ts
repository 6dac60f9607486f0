import { z } from 'zod';
import { DOCUMENT_KINDS } from '../transfers/transfer-document.entity';
import { TRANSFER_ORIGINS, TRANSFER_STATES } from '../transfers/transfer-state';

/**
 * The shapes the admin API answers with. They document the API (OpenAPI) and type the
 * services, so the two cannot drift apart.
 */

const timestamp = z.string().meta({ format: 'date-time' });
const uuid = z.string().meta({ format: 'uuid' });
/** The platform's own id for the envelope: opaque text, case-sensitive. */
const envelopeId = z.string().meta({ description: "The platform's envelope id (opaque, case-sensitive)." });
const state = z.enum(TRANSFER_STATES);

export const transferViewSchema = z
  .object({
    id: uuid,
    platform: z.string(),
    envelopeId,
    envelopeName: z
      .string()
      .nullable()
      .meta({
        description:
          "The envelope's name as the platform reported it when archiving began (invisible and control " +
          'characters written as `\\u{hex}`); null until then.',
      }),
    state,
    origin: z.enum(TRANSFER_ORIGINS).meta({
      description:
        "Who asked for the transfer: the platform's callback, or reconciliation (a finished envelope no callback announced).",
    }),
    cause: z
      .string()
      .nullable()
      .meta({ description: 'Why the transfer is in its state (e.g. corrupt_pdf).' }),
    attempts: z
      .number()
      .int()
      .meta({ description: 'Attempts since the transfer was created or last retried by an operator.' }),
    nextAttemptAt: timestamp.meta({ description: 'When a worker picks it up next (for due states).' }),
    lastError: z.string().nullable(),
    lastErrorClass: z.string().nullable(),
    envelopeStatus: z.string().nullable().meta({ description: "The platform's status when last checked." }),
    senderEmail: z.string().nullable(),
    warning: z
      .string()
      .nullable()
      .meta({
        description:
          'Something that did not stop the transfer but should be seen, e.g. envelope metadata that ' +
          'could not be used (the documents were archived without its tags).',
      }),
    archivedAt: timestamp.nullable(),
    platformDeletedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    dismissedReason: z.string().nullable(),
    stateVersion: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Transfer' });
export type TransferView = z.output<typeof transferViewSchema>;

export const transferPageSchema = z
  .object({
    items: z.array(transferViewSchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'TransferPage' });
export type TransferPage = z.output<typeof transferPageSchema>;

export const documentViewSchema = z
  .object({
    kind: z.enum(DOCUMENT_KINDS),
    fileName: z.string(),
    platformFileId: z.string(),
    s3Key: z.string().meta({ description: 'The full object key in the bucket.' }),
    s3Uri: z.string().meta({
      description: '`s3://<bucket>/<key>` in the bucket this instance archives to (S3_BUCKET).',
    }),
    size: z.number().int().nullable(),
    sha256: z.string().nullable(),
    verifiedAt: timestamp
      .nullable()
      .meta({ description: 'When the copy in the object store was proven; null while not.' }),
  })
  .meta({ id: 'TransferDocument' });
export type DocumentView = z.output<typeof documentViewSchema>;

export const attemptViewSchema = z
  .object({
    attempt: z.number().int(),
    worker: z.string(),
    startedAt: timestamp,
    finishedAt: timestamp.nullable(),
    outcome: z.string().nullable().meta({ description: 'The state the attempt left the transfer in.' }),
    errorClass: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'TransferAttempt' });
export type AttemptView = z.output<typeof attemptViewSchema>;

export const callbackViewSchema = z
  .object({
    action: z.string(),
    receivedCount: z.number().int(),
    firstReceivedAt: timestamp,
    lastReceivedAt: timestamp,
  })
  .meta({ id: 'ReceivedCallback' });
export type CallbackView = z.output<typeof callbackViewSchema>;

export const adminActionViewSchema = z
  .object({
    actor: z.string(),
    action: z.string(),
    at: timestamp,
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AdminAction' });
export type AdminActionView = z.output<typeof adminActionViewSchema>;

export const TIMELINE_KINDS = [
  'created',
  'callback',
  'attempt',
  'archived',
  'platform_deleted',
  'finished',
  'admin_action',
] as const;

export const timelineEntrySchema = z
  .object({
    at: timestamp,
    kind: z.enum(TIMELINE_KINDS),
    summary: z.string(),
  })
  .meta({ id: 'TimelineEntry' });
export type TimelineEntry = z.output<typeof timelineEntrySchema>;

export const transferDetailSchema = z
  .object({
    transfer: transferViewSchema.extend({
      leaseOwner: z.string().nullable(),
      leaseExpiresAt: timestamp.nullable(),
    }),
    documents: z.array(documentViewSchema),
    attempts: z.array(attemptViewSchema),
    callbacks: z.array(callbackViewSchema),
    adminActions: z.array(adminActionViewSchema),
    timeline: z.array(timelineEntrySchema).meta({ description: 'Everything above in time order.' }),
  })
  .meta({ id: 'TransferDetail' });
export type TransferDetail = z.output<typeof transferDetailSchema>;

export const bulkRetryResultSchema = z
  .object({
    retried: z.number().int(),
    ids: z.array(uuid),
    more: z.boolean().meta({ description: 'True when more transfers match than the limit allowed.' }),
  })
  .meta({ id: 'BulkRetryResult' });
export type BulkRetryResult = z.output<typeof bulkRetryResultSchema>;

export const summarySchema = z
  .object({
    generatedAt: timestamp,
    byState: z
      .record(z.string(), z.number().int())
      .meta({ description: 'Every state with its count (zeros included).' }),
    byCause: z.array(z.object({ state, cause: z.string().nullable(), count: z.number().int() })),
    oldestDue: z
      .object({
        id: uuid,
        platform: z.string(),
        envelopeId,
        envelopeName: z.string().nullable(),
        state,
        dueSince: timestamp,
        ageSeconds: z
          .number()
          .int()
          .meta({ description: 'How long it has been due, by the database clock.' }),
      })
      .nullable()
      .meta({ description: 'The transfer that has waited longest for a worker; null when none is due.' }),
    lastCallbacks: z.array(z.object({ platform: z.string(), lastReceivedAt: timestamp })),
    mail: z.object({ pending: z.number().int(), failed: z.number().int() }),
    platforms: z
      .array(z.string())
      .meta({ description: 'Every platform that has transfers, for the `platform` filter.' }),
    reconciliation: z
      .array(
        z.object({
          platform: z.string(),
          lastRun: z
            .object({
              startedAt: timestamp,
              finishedAt: timestamp.nullable(),
              windowFrom: timestamp,
              windowTo: timestamp,
              found: z.number().int(),
              created: z.number().int(),
              outcome: z.enum(['ok', 'partial', 'failed']).nullable(),
              errors: z.array(z.string()),
            })
            .nullable()
            .meta({ description: 'The latest run (null: none yet); outcome null while it runs.' }),
          foundOnlyByReconciliation7d: z.number().int().meta({
            description: 'Transfers of the last 7 days created by reconciliation: callbacks that never came.',
          }),
        }),
      )
      .meta({ description: 'Per platform instance: the backstop for missed callbacks and what it found.' }),
  })
  .meta({ id: 'Summary' });
export type Summary = z.output<typeof summarySchema>;

export const HOURLY_WINDOW_HOURS = 48;

export const hourlySummarySchema = z
  .object({
    generatedAt: timestamp,
    hours: z
      .array(
        z.object({
          hour: timestamp.meta({ description: 'The start of the hour (UTC).' }),
          archived: z.number().int().meta({
            description: 'Transfers whose documents were all proven in the object store that hour.',
          }),
          failed: z
            .number()
            .int()
            .meta({ description: 'Transfers with an attempt that ended failed that hour (given up on).' }),
          waiting: z.number().int().meta({
            description:
              'Transfers checked that hour whose envelope was not finished yet (checked again later).',
          }),
        }),
      )
      .meta({
        description: `The last ${HOURLY_WINDOW_HOURS} hours, oldest first, the current hour last; hours without any are zeros.`,
      }),
  })
  .meta({ id: 'HourlySummary' });
export type HourlySummary = z.output<typeof hourlySummarySchema>;

export const CONSENT_LIST_LIMIT = 100;

export const consentHealthSchema = z
  .object({
    count: z.number().int().meta({ description: 'Senders whose API token the platform rejected.' }),
    senders: z
      .array(
        z.object({
          id: uuid,
          platform: z.string(),
          email: z.string().nullable(),
          since: timestamp.meta({ description: 'When the platform rejected the token.' }),
          waitingTransfers: z
            .number()
            .int()
            .meta({ description: "The sender's transfers paused in needs_consent until a new grant." }),
        }),
      )
      .meta({ description: `The longest-waiting first, at most ${CONSENT_LIST_LIMIT}.` }),
  })
  .meta({ id: 'ConsentHealth' });
export type ConsentHealth = z.output<typeof consentHealthSchema>;

export const errorSchema = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z
      .string()
      .meta({ description: 'What was wrong; for a 400, each problem starts with the field name.' }),
  })
  .meta({ id: 'Error' });

/** The OpenAPI security scheme name for the admin bearer token. */
export const ADMIN_BEARER_SCHEME = 'admin-token';
