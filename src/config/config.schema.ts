import { isIP } from 'node:net';
import { z } from 'zod';
import { defineConfigSection, present, type ConfigProblem } from './config-section';

// Durations accept plain milliseconds or a number with a unit: 500ms, 30s, 15m, 48h, 7d.
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']);
}

export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a positive duration such as 5000, 30s, 15m or 48h',
        });
        return z.NEVER;
      }
      return ms;
    });

export const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

export const optionalUrl = optionalString.refine(
  (v) => v === undefined || URL.canParse(v),
  'must be an absolute URL',
);

export const commaList = optionalString.transform((v) =>
  v === undefined
    ? []
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
);

/** `name:value` pairs separated by commas (admin tokens, encryption keys). */
const namedSecrets = (minSecretLength: number) =>
  commaList.transform((items, ctx) => {
    const out: { name: string; secret: string }[] = [];
    for (const [i, item] of items.entries()) {
      const sep = item.indexOf(':');
      const name = sep > 0 ? item.slice(0, sep) : '';
      const secret = sep > 0 ? item.slice(sep + 1) : '';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || secret.length < minSecretLength) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1} must look like name:secret (secret at least ${minSecretLength} characters)`,
        });
        return z.NEVER;
      }
      if (out.some((o) => o.name === name)) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} repeats the name ${name}` });
        return z.NEVER;
      }
      out.push({ name, secret });
    }
    return out;
  });

/** An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
function isAddressOrCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Media types as `type/subtype`, lower-cased. */
const mediaTypeList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const types = v
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter((t) => t.length > 0);
      const bad = types.findIndex(
        (t) => !/^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(t),
      );
      if (bad >= 0) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${bad + 1} must be a media type such as application/pdf`,
        });
        return z.NEVER;
      }
      return types;
    });

export const serviceConfig = defineConfigSection('service', {
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: int(3000, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('.data'),
  /** A client must send its request headers within this time. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100, 600_000),
  /** A whole request (headers and body) must arrive within this time; a stalled body is dropped. */
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  /** An idle keep-alive connection is closed after this time. */
  HTTP_IDLE_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  /** Proxies whose X-Forwarded-For is believed: addresses or CIDRs. Empty: none (the socket's peer is the caller). */
  TRUST_PROXY: commaList.superRefine((entries, ctx) => {
    for (const [i, entry] of entries.entries()) {
      if (!isAddressOrCidr(entry)) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be an IP address or a CIDR block` });
      }
    }
  }),
  /** The service's address as people and platforms reach it: links in mail, OAuth redirect URIs. */
  PUBLIC_BASE_URL: optionalUrl,
});

export const databaseConfig = defineConfigSection('database', {
  DATABASE_URL: optionalUrl,
  DATABASE_POOL_SIZE: int(10, 1, 200),
  DATABASE_ACQUIRE_TIMEOUT_MS: int(2000, 100, 60_000),
  DATABASE_STATEMENT_TIMEOUT_MS: int(10_000, 100, 600_000),
});

export const intakeConfig = defineConfigSection('intake', {
  INTAKE_TIMEOUT_MS: int(4000, 100, 30_000),
});

export const tokensConfig = defineConfigSection('tokens', {
  TOKEN_ENCRYPTION_KEYS: commaList.superRefine((entries, ctx) => {
    for (const [i, entry] of entries.entries()) {
      const m = /^([A-Za-z0-9_.-]{1,32}):([A-Za-z0-9+/=]+)$/.exec(entry);
      if (!m || Buffer.from(m[2], 'base64').length !== 32) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be id:base64 of exactly 32 bytes` });
      }
    }
  }),
});

export const archiveConfig = defineConfigSection('archive', {
  ARCHIVE_ENABLED: bool(true),
  ARCHIVE_POLL_INTERVAL_MS: int(5000, 50, 3_600_000),
  /** Wake the workers on commit (PostgreSQL LISTEN/NOTIFY) when a transfer becomes due; polling stays. */
  ARCHIVE_WAKE_ON_CALLBACK: bool(true),
  ARCHIVE_CONCURRENCY: int(4, 1, 64),
  ARCHIVE_FILE_CONCURRENCY: int(2, 1, 16),
  ARCHIVE_LEASE_MS: int(120_000, 1000, 3_600_000),
  ARCHIVE_ACTIVE_WINDOW: duration('24h'),
  ARCHIVE_UNFINISHED_DOCUMENTS: bool(true),
  DELETE_AFTER_ARCHIVE: bool(true),
  RETRY_BASE_DELAY_MS: int(30_000, 1, 86_400_000),
  RETRY_MAX_DELAY_MS: int(3_600_000, 1, 86_400_000),
  MAX_ATTEMPTS: int(12, 1, 1000),
  MAX_AGE: duration('48h'),
  /** A file larger than this (announced or read) fails its transfer instead of being copied. */
  ARCHIVE_MAX_FILE_MB: int(2048, 1, 5120),
  /** Each file must arrive at least this fast on average (after the grace time), or it is cut. */
  ARCHIVE_MIN_RATE_KBPS: int(64, 1, 1_000_000),
  ARCHIVE_FILE_GRACE_MS: int(60_000, 1000, 3_600_000),
  /** Content types kept as the platform gives them; any other is stored as application/octet-stream. */
  ARCHIVE_CONTENT_TYPES: mediaTypeList(
    'application/pdf,application/xml,text/xml,application/json,text/plain,text/csv,image/png,image/jpeg,image/tiff,image/gif',
  ),
});

export const storageConfig = defineConfigSection(
  'storage',
  {
    S3_ENDPOINT: optionalUrl,
    S3_BUCKET: optionalString,
    S3_REGION: z.string().default('us-east-1'),
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: bool(false),
    S3_PREFIX: z
      .string()
      .default('esign-archive')
      .refine((v) => /^[A-Za-z0-9._/-]{0,200}$/.test(v) && !v.includes('..'), 'must be a plain key prefix'),
    S3_PART_SIZE_MB: int(8, 5, 512),
    S3_QUEUE_SIZE: int(2, 1, 16),
    S3_TAG_MAPPING: optionalString.refine((v) => {
      if (v === undefined) return true;
      try {
        const parsed: unknown = JSON.parse(v);
        return (
          typeof parsed === 'object' &&
          parsed !== null &&
          !Array.isArray(parsed) &&
          Object.values(parsed).every((x) => typeof x === 'string')
        );
      } catch {
        return false;
      }
    }, 'must be a JSON object mapping tag names to metadata element names'),
  },
  (env) => {
    const problems: ConfigProblem[] = [];
    if (present(env.S3_ACCESS_KEY_ID) !== present(env.S3_SECRET_ACCESS_KEY)) {
      problems.push({
        key: present(env.S3_ACCESS_KEY_ID) ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
        message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together',
      });
    }
    if (present(env.S3_ENDPOINT) && !present(env.S3_BUCKET)) {
      problems.push({ key: 'S3_BUCKET', message: 'required when S3_ENDPOINT is set' });
    }
    return problems;
  },
);

/** A duration where 0 (or `off`) turns the thing off. */
const durationOrOff = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      if (/^\s*(0|off)\s*$/i.test(value)) return 0;
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a duration such as 6h or 30m, or 0 to turn it off',
        });
        return z.NEVER;
      }
      return ms;
    });

export const reconciliationConfig = defineConfigSection('reconciliation', {
  /** How often each platform instance is asked for envelopes that finished; 0 turns reconciliation off. */
  RECONCILE_INTERVAL: durationOrOff('6h'),
  /** How far back the first run of a platform instance looks. */
  RECONCILE_LOOKBACK: duration('30d'),
  /** Finished envelopes found while no callback came for this long: ops are told callbacks look broken. */
  CALLBACK_SILENCE_ALERT: duration('24h'),
});

export const mailConfig = defineConfigSection('mail', {
  SMTP_URL: optionalUrl,
  MAIL_FROM: z.string().default('esign-archiver@localhost'),
  ALERT_TO: commaList,
  MAIL_DIGEST_THRESHOLD: int(5, 2, 1000),
});

export const adminConfig = defineConfigSection('admin', {
  ADMIN_TOKENS: namedSecrets(16),
});

/** The sections every installation has, whatever its platforms. */
export const CORE_SECTIONS = {
  service: serviceConfig,
  database: databaseConfig,
  intake: intakeConfig,
  tokens: tokensConfig,
  archive: archiveConfig,
  reconciliation: reconciliationConfig,
  storage: storageConfig,
  mail: mailConfig,
  admin: adminConfig,
} as const;
