import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { RunningApp } from '../support/app';

export const ALICE_TOKEN = 'alice-admin-token-0123456789';
export const BOB_TOKEN = 'bob-admin-token-9876543210';
export const ADMIN_ENV = { ADMIN_TOKENS: `alice:${ALICE_TOKEN},bob:${BOB_TOKEN}` };

/** One connection per test file, for seeding rows and reading what the service wrote. */
export async function connect(svc: RunningApp): Promise<Client> {
  const client = new Client({ connectionString: svc.db.url });
  await client.connect();
  return client;
}

export interface TransferSeed {
  state: string;
  platform?: string;
  envelopeId?: string;
  envelopeName?: string | null;
  warning?: string | null;
  cause?: string | null;
  attempts?: number;
  senderEmail?: string | null;
  lastError?: string | null;
  lastErrorClass?: string | null;
  createdAt?: Date | string;
  updatedAt?: Date | string;
  nextAttemptAt?: Date | string;
  archivedAt?: Date | string | null;
  platformDeletedAt?: Date | string | null;
  finishedAt?: Date | string | null;
  leaseOwner?: string | null;
  stateVersion?: number;
}

export interface SeededTransfer {
  id: string;
  envelopeId: string;
}

export async function insertTransfer(db: Client, seed: TransferSeed): Promise<SeededTransfer> {
  const envelopeId = seed.envelopeId ?? randomUUID();
  const leased = seed.state === 'checking' || seed.state === 'archiving';
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO transfers (platform, envelope_id, state, cause, attempts, sender_email, last_error, last_error_class,
       created_at, updated_at, next_attempt_at, archived_at, platform_deleted_at, finished_at, state_version,
       lease_owner, lease_expires_at, claim_token, envelope_name, warning)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::timestamptz, now()), coalesce($10::timestamptz, now()),
       coalesce($11::timestamptz, now()), $12, $13, $14, $15, $16,
       CASE WHEN $17 THEN now() + interval '2 minutes' END, CASE WHEN $17 THEN gen_random_uuid() END, $18, $19)
     RETURNING id`,
    [
      seed.platform ?? 'esignanywhere',
      envelopeId,
      seed.state,
      seed.cause ?? null,
      seed.attempts ?? 0,
      seed.senderEmail ?? null,
      seed.lastError ?? null,
      seed.lastErrorClass ?? null,
      seed.createdAt ?? null,
      seed.updatedAt ?? null,
      seed.nextAttemptAt ?? null,
      seed.archivedAt ?? null,
      seed.platformDeletedAt ?? null,
      seed.finishedAt ?? null,
      seed.stateVersion ?? 3,
      leased ? (seed.leaseOwner ?? 'worker-1') : null,
      leased,
      seed.envelopeName ?? null,
      seed.warning ?? null,
    ],
  );
  return { id: rows[0].id, envelopeId };
}

/** One run of the pipeline on a transfer, as `transfer_attempts` records it. */
export async function insertAttempt(
  db: Client,
  transferId: string,
  attempt: { outcome: string; finishedAt: Date; attempt?: number; worker?: string; errorClass?: string },
): Promise<void> {
  await db.query(
    `INSERT INTO transfer_attempts (transfer_id, attempt, worker, started_at, finished_at, outcome, error_class)
     VALUES ($1, $2, $3, $4::timestamptz - interval '5 seconds', $4, $5, $6)`,
    [
      transferId,
      attempt.attempt ?? 1,
      attempt.worker ?? 'worker-1',
      attempt.finishedAt,
      attempt.outcome,
      attempt.errorClass ?? null,
    ],
  );
}

export interface SenderSeed {
  email: string | null;
  consentState: 'none' | 'granted' | 'rejected';
  tokenRejectedAt?: Date | null;
  platform?: string;
  /** Envelopes noted as this sender's (before-send page). */
  envelopeIds?: string[];
}

/** A sender row and the envelopes noted as sent by it; returns its id. */
export async function insertSender(db: Client, seed: SenderSeed): Promise<string> {
  const platform = seed.platform ?? 'esignanywhere';
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO senders (platform, platform_user_id, email, consent_state, consented_at, token_rejected_at)
     VALUES ($1, $2, $3, $4, now() - interval '30 days', $5) RETURNING id`,
    [platform, randomUUID(), seed.email, seed.consentState, seed.tokenRejectedAt ?? null],
  );
  const id = rows[0].id;
  for (const envelopeId of seed.envelopeIds ?? []) {
    await db.query(`INSERT INTO envelope_senders (platform, envelope_id, sender_id) VALUES ($1, $2, $3)`, [
      platform,
      envelopeId,
      id,
    ]);
  }
  return id;
}

/** The start of the current UTC hour by the database's clock, and of the hours before it. */
export async function hourStarts(db: Client): Promise<(hoursAgo: number) => Date> {
  const [{ hour }] = await rows<{ hour: Date }>(db, `SELECT date_trunc('hour', now(), 'UTC') AS hour`);
  return (hoursAgo: number) => new Date(hour.getTime() - hoursAgo * 3_600_000);
}

/** A failed transfer as the pipeline leaves it after giving up. */
export function failedSeed(overrides: Partial<TransferSeed> = {}): TransferSeed {
  return {
    state: 'failed',
    cause: 'corrupt_pdf',
    attempts: 3,
    senderEmail: 'sender@example.com',
    lastError: 'contract.pdf does not start with %PDF-',
    lastErrorClass: 'CORRUPT',
    finishedAt: new Date(),
    ...overrides,
  };
}

export async function rows<T = Record<string, unknown>>(
  db: Client,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await db.query(sql, params)).rows as T[];
}

export interface AdminCall {
  method?: string;
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls the admin API as alice unless told otherwise; `token: null` sends no credentials. */
export async function admin(svc: RunningApp, path: string, call: AdminCall = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  const token = call.token === undefined ? ALICE_TOKEN : call.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${svc.url}${path}`, {
    method: call.method ?? 'GET',
    headers,
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
}

export async function json<T = Record<string, unknown>>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${response.status}: ${text}`);
  }
  return JSON.parse(text) as T;
}
