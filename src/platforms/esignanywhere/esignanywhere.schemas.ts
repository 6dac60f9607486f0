import { z } from 'zod';
import {
  type EsawActivity,
  type EsawContact,
  type EsawEnvelope,
  type EsawEnvelopeConfiguration,
  type EsawEnvelopeFiles,
  type EsawFoundEnvelope,
  type EsawIdentity,
  type EsawSentDraft,
} from './esignanywhere.types';

// Wire schemas for eSignAnyWhere REST API v6 (PascalCase, field names from the v6 swagger). Unknown
// fields are ignored. The swagger makes every response field optional, so absent or null optional
// fields are absent here, not errors; ids and types that are present are checked strictly. A completed
// envelope that lists no signed document is refused by the pipeline, never archived as empty.

export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** File ids are opaque to us; this allowlist is what may ever be put into a URL path. */
export const FILE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const guid = z.string().regex(GUID_PATTERN, 'must be a GUID');
const fileId = z
  .string()
  .regex(FILE_ID_PATTERN, 'must be a plain file id ([A-Za-z0-9_-], 1 to 128 characters)');

/** .NET serializes absent values as null: optional fields accept null and come out as undefined. */
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const optionalFileId = fileId.nullish().transform((v) => v ?? undefined);
const optionalInt = z
  .number()
  .int()
  .nullish()
  .transform((v) => v ?? undefined);
const nameString = z
  .string()
  .nullish()
  .transform((v) => v ?? '');
const dateTime = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be a date-time')
  .nullish()
  .transform((v) => v ?? undefined);
/** A status word as given: one the service does not know is reported (UNKNOWN_STATUS), not a parse error. */
const envelopeStatus = z.string().min(1).max(64);

const contactSchema = z
  .object({ Email: optionalString, GivenName: optionalString, Surname: optionalString })
  .nullish();

const actionSchema = z.record(z.string(), z.unknown()).nullish();

const activitySchema = z.object({
  Id: z.string().min(1),
  Status: z.string().min(1),
  StatusReason: optionalString,
  OpenedDate: dateTime,
  FinishedDate: dateTime,
  Action: actionSchema,
});

function toContact(raw: z.output<typeof contactSchema>): EsawContact | undefined {
  if (!raw) return undefined;
  const contact: EsawContact = {};
  if (raw.Email !== undefined) contact.email = raw.Email;
  if (raw.GivenName !== undefined) contact.givenName = raw.GivenName;
  if (raw.Surname !== undefined) contact.surname = raw.Surname;
  return contact;
}

function toActivity(raw: z.output<typeof activitySchema>): EsawActivity {
  const activity: EsawActivity = { id: raw.Id, status: raw.Status };
  if (raw.StatusReason !== undefined) activity.statusReason = raw.StatusReason;
  if (raw.OpenedDate !== undefined) activity.openedDate = raw.OpenedDate;
  if (raw.FinishedDate !== undefined) activity.finishedDate = raw.FinishedDate;
  // `Action` holds exactly one of Sign, View, SendCopy, SignAsP7M, SignAutomatic; the recipient sits in
  // `ContactInformation` (GET) or `RecipientConfiguration.ContactInformation` (send/draft shapes).
  const entry = Object.entries(raw.Action ?? {}).find(([, v]) => v !== null && typeof v === 'object');
  if (entry) {
    activity.actionType = entry[0];
    const body = entry[1] as Record<string, unknown>;
    const nested = body.RecipientConfiguration as Record<string, unknown> | undefined;
    const parsed = contactSchema.safeParse(body.ContactInformation ?? nested?.ContactInformation);
    const recipient = parsed.success ? toContact(parsed.data) : undefined;
    if (recipient) activity.recipient = recipient;
  }
  return activity;
}

export const envelopeResponseSchema = z
  .object({
    Id: guid,
    EnvelopeStatus: envelopeStatus,
    Name: nameString,
    SentDate: dateTime,
    EnvelopeBulkParentId: optionalString,
    SenderUserInformation: z
      .object({ Email: optionalString, GivenName: optionalString, Surname: optionalString })
      .nullish()
      .transform((v) => v ?? { Email: undefined, GivenName: undefined, Surname: undefined }),
    Activities: z
      .array(activitySchema)
      .nullish()
      .transform((v) => v ?? []),
  })
  .transform((raw): EsawEnvelope => {
    const envelope: EsawEnvelope = {
      id: raw.Id,
      status: raw.EnvelopeStatus,
      name: raw.Name,
      sender: {},
      activities: raw.Activities.map(toActivity),
    };
    if (raw.SenderUserInformation.Email) envelope.sender.email = raw.SenderUserInformation.Email;
    if (raw.SentDate !== undefined) envelope.sentDate = raw.SentDate;
    if (raw.EnvelopeBulkParentId !== undefined) envelope.bulkParentId = raw.EnvelopeBulkParentId;
    if (raw.SenderUserInformation.GivenName !== undefined)
      envelope.sender.givenName = raw.SenderUserInformation.GivenName;
    if (raw.SenderUserInformation.Surname !== undefined)
      envelope.sender.surname = raw.SenderUserInformation.Surname;
    return envelope;
  });

export const configurationResponseSchema = z
  .object({
    MetaData: z
      .string()
      .nullish()
      .transform((v) => v ?? null),
  })
  .transform((raw): EsawEnvelopeConfiguration => ({ metaData: raw.MetaData }));

const fileRefSchema = z.object({ FileId: fileId, FileName: nameString });

export const filesResponseSchema = z
  .object({
    // Often null for canceled, expired or rejected envelopes.
    Documents: z
      .array(
        fileRefSchema.extend({
          AuditTrailFileId: optionalFileId,
          Attachments: z
            .array(fileRefSchema)
            .nullish()
            .transform((v) => v ?? []),
          PageCount: optionalInt,
          DocumentNumber: optionalInt,
        }),
      )
      .nullish()
      .transform((v) => v ?? []),
    AuditTrail: z
      .object({ FileId: optionalFileId, XmlFileId: optionalFileId })
      .nullish()
      .transform((v) => ({ FileId: v?.FileId, XmlFileId: v?.XmlFileId })),
    LegalDocuments: z
      .array(fileRefSchema.extend({ ActivityId: optionalString, Email: optionalString }))
      .nullish()
      .transform((v) => v ?? []),
  })
  .transform((raw): EsawEnvelopeFiles => ({
    documents: raw.Documents.map((d) => ({
      fileId: d.FileId,
      fileName: d.FileName,
      ...(d.AuditTrailFileId !== undefined && { auditTrailFileId: d.AuditTrailFileId }),
      attachments: d.Attachments.map((a) => ({ fileId: a.FileId, fileName: a.FileName })),
      ...(d.PageCount !== undefined && { pageCount: d.PageCount }),
      ...(d.DocumentNumber !== undefined && { documentNumber: d.DocumentNumber }),
    })),
    auditTrail: {
      ...(raw.AuditTrail.FileId !== undefined && { fileId: raw.AuditTrail.FileId }),
      ...(raw.AuditTrail.XmlFileId !== undefined && { xmlFileId: raw.AuditTrail.XmlFileId }),
    },
    legalDocuments: raw.LegalDocuments.map((l) => ({
      fileId: l.FileId,
      fileName: l.FileName,
      ...(l.ActivityId !== undefined && { activityId: l.ActivityId }),
      ...(l.Email !== undefined && { email: l.Email }),
    })),
  }));

export const findResponseSchema = z
  .object({
    Envelopes: z
      .array(
        z.object({
          Id: guid,
          Status: envelopeStatus,
          Name: nameString,
          MetaData: z
            .string()
            .nullish()
            .transform((v) => v ?? null),
          EnvelopeBulkParentId: optionalString,
          IsExpiringSoon: z
            .boolean()
            .nullish()
            .transform((v) => v ?? undefined),
        }),
      )
      .nullish(),
  })
  .transform((raw): EsawFoundEnvelope[] =>
    (raw.Envelopes ?? []).map((e) => ({
      id: e.Id,
      status: e.Status,
      name: e.Name,
      metaData: e.MetaData,
      ...(e.EnvelopeBulkParentId !== undefined && { bulkParentId: e.EnvelopeBulkParentId }),
      ...(e.IsExpiringSoon !== undefined && { isExpiringSoon: e.IsExpiringSoon }),
    })),
  );

// The v6 swagger documents `{ Envelope: { EnvelopeId }, EnvelopeBulk }`; a flat `{ EnvelopeId }` is
// accepted too. A draft with a bulk action sends an envelope bulk, which this product does not archive.
export const draftSendResponseSchema = z
  .object({
    Envelope: z.object({ EnvelopeId: guid }).nullish(),
    EnvelopeId: guid.nullish(),
  })
  .refine((raw) => Boolean(raw.Envelope?.EnvelopeId ?? raw.EnvelopeId), {
    message: 'has no envelope id (a draft with a bulk action is not supported)',
    path: ['Envelope', 'EnvelopeId'],
  })
  .transform((raw): EsawSentDraft => ({
    envelopeId: (raw.Envelope?.EnvelopeId ?? raw.EnvelopeId) as string,
  }));

export const tokenResponseSchema = z
  .object({
    access_token: z
      .string()
      .min(1)
      .max(4096)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    token_type: optionalString,
  })
  .transform((raw) => ({ accessToken: raw.access_token }));

const EMAIL_PATTERN = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u;

/** `GET /v6/authorization/whoami` (`AuthorizationWhoAmIResponse`); a token without a user id fails here. */
export const whoAmIResponseSchema = z
  .object({
    UserId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    Email: optionalString,
  })
  .transform((raw): EsawIdentity => ({
    userId: raw.UserId,
    ...(raw.Email !== undefined &&
      raw.Email.length <= 320 &&
      EMAIL_PATTERN.test(raw.Email) && { email: raw.Email }),
  }));

/** eSAW v6 error body, e.g. `{"ErrorId":"ERR0007","Message":"ERR0007 - ...","TraceId":"..."}`. */
export const apiErrorBodySchema = z.object({
  ErrorId: optionalString,
  Message: optionalString,
  TraceId: optionalString,
  SupportId: z
    .union([z.string(), z.number()])
    .nullish()
    .transform((v) => (v === null || v === undefined ? undefined : String(v))),
});

/** RFC 6749 section 5.2 error body. */
export const oauthErrorBodySchema = z.object({
  error: z.string().min(1),
  error_description: optionalString,
});

/** Names the first few offending fields without echoing values (they may be personal data). */
export function describeSchemaError(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : '';
  return parts.join('; ') + more;
}
