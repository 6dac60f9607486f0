import type {
  DocumentSpec,
  EsignAnywhereSimulator,
  SimEndpoint,
  SimFaultRule,
  SimFinishStatus,
} from '../simulators/esignanywhere/esignanywhere.simulator';
import type { S3FaultRule, S3Operation } from '../support/s3-fault-proxy';
import type { SeededRandom } from './seeded-random';

const MB = 1024 * 1024;

export interface PlannedEnvelope {
  id: string;
  /** Made permanently bad on purpose: one document is never a PDF. */
  bad: boolean;
  /** Has a document larger than one part (multipart upload). */
  big: boolean;
  finish: SimFinishStatus;
  documents: DocumentSpec[];
  legalDocuments: { fileName?: string; size?: number }[];
  separateAuditTrailPerDocument: boolean;
  callbackAtMs: number;
  /** A second callback for the same envelope, as platforms retry. */
  repeatCallbackAtMs?: number;
}

export interface PlannedEvent {
  atMs: number;
  kind: 'kill' | 'pause' | 'postgres';
  /** Whom a kill or pause prefers: a worker with a multipart upload in flight, one holding a lease, anyone. */
  target: 'mid-upload' | 'leaseholder' | 'any';
  /** Restart delay, pause length, or PostgreSQL's downtime. */
  durationMs: number;
}

export interface ArchivePlan {
  envelopes: PlannedEnvelope[];
  events: PlannedEvent[];
  windowMs: number;
  settleMs: number;
  leaseMs: number;
}

export const LEASE_MS = 2500;

/** Envelopes, their callbacks, and the kills and pauses of phase 2, all drawn from `rng`. */
export function planArchive(rng: SeededRandom, scale: number): ArchivePlan {
  const count = Math.max(6, Math.round(40 * scale));
  const badCount = Math.min(Math.floor(count / 3), Math.max(1, Math.round(2 * scale)));
  const windowMs = Math.max(25_000, Math.round(120_000 * scale));
  const settleMs = Math.max(60_000, Math.round(240_000 * scale));
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const bad = new Set(order.slice(0, badCount));
  const bigCount = Math.max(1, Math.round((count - badCount) * 0.3));
  const big = new Set(order.slice(badCount, badCount + bigCount));

  const envelopes: PlannedEnvelope[] = [];
  for (let i = 0; i < count; i++) {
    const documents: DocumentSpec[] = [];
    const docCount = bad.has(i) ? rng.int(1, 2) : rng.int(1, 3);
    for (let d = 0; d < docCount; d++) {
      const attachments = rng.chance(0.3)
        ? Array.from({ length: rng.int(1, 2) }, (_, a) => ({
            fileName: `Attachment ${d + 1}-${a + 1}.pdf`,
            size: rng.int(2_000, 60_000),
          }))
        : [];
      documents.push({
        fileName: `Document ${d + 1}.pdf`,
        size: rng.int(8_000, 400_000),
        pageCount: rng.int(1, 4),
        attachments,
      });
    }
    if (big.has(i)) documents[0] = { ...documents[0], fileName: 'Large.pdf', size: rng.int(6 * MB, 12 * MB) };
    const callbackAtMs = Math.round(rng.between(0, 0.45) * windowMs);
    envelopes.push({
      id: rng.uuid(),
      bad: bad.has(i),
      big: big.has(i),
      finish: rng.chance(0.8) ? 'Completed' : rng.chance(0.6) ? 'Rejected' : 'Canceled',
      documents,
      legalDocuments: rng.chance(0.4) ? [{ fileName: 'CA22D request.pdf', size: rng.int(3_000, 9_000) }] : [],
      separateAuditTrailPerDocument: rng.chance(0.2),
      callbackAtMs,
      ...(rng.chance(0.3) && { repeatCallbackAtMs: callbackAtMs + rng.int(0, 5_000) }),
    });
  }

  const events: PlannedEvent[] = [];
  const at = (from: number, to: number) => Math.round(rng.between(from, to) * windowMs);
  for (let i = 0, n = Math.max(2, Math.round(10 * scale)); i < n; i++) {
    events.push({
      atMs: at(0.05, 0.6),
      kind: 'kill',
      target: rng.pick(['mid-upload', 'mid-upload', 'leaseholder', 'any'] as const),
      durationMs: rng.int(300, 2_500),
    });
  }
  for (let i = 0, n = Math.max(1, Math.round(5 * scale)); i < n; i++) {
    events.push({
      atMs: at(0.05, 0.6),
      kind: 'pause',
      target: 'leaseholder',
      durationMs: LEASE_MS + rng.int(500, 3_000),
    });
  }
  for (let i = 0, n = Math.max(1, Math.round(scale)); i < n; i++) {
    events.push({ atMs: at(0.2, 0.5), kind: 'postgres', target: 'any', durationMs: rng.int(500, 2_500) });
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return { envelopes, events, windowMs, settleMs, leaseMs: LEASE_MS };
}

interface Target {
  envelope: PlannedEnvelope;
  files: { fileId: string; kind: string; size: number }[];
}

interface PlatformRecipe {
  name: string;
  base: number;
  arm(rng: SeededRandom, target: Target): SimFaultRule;
}

const ENVELOPE_READS: SimEndpoint[] = ['envelope.get', 'envelope.configuration', 'envelope.files'];
const ALL_ENDPOINTS: SimEndpoint[] = [...ENVELOPE_READS, 'file.get', 'envelope.delete'];

/** A rule on `endpoint` of the target: by file for downloads, by envelope otherwise. */
function on(rng: SeededRandom, target: Target, endpoint: SimEndpoint): Omit<SimFaultRule, 'fault'> {
  if (endpoint === 'file.get') return { endpoint, fileId: rng.pick(target.files).fileId };
  return { endpoint, envelopeId: target.envelope.id };
}

function someFile(rng: SeededRandom, target: Target) {
  return rng.pick(target.files.filter((f) => f.size > 1));
}

/** A body cut short (`truncate`) or left hanging (`stall`): half the time a file's, else an API answer's. */
function cutBody(
  rng: SeededRandom,
  target: Target,
  kind: 'truncate' | 'stall',
  minJsonBytes: number,
  maxJsonBytes: number,
): SimFaultRule {
  if (rng.chance(0.5)) {
    const file = someFile(rng, target);
    return {
      endpoint: 'file.get',
      fileId: file.fileId,
      times: 1,
      fault: { kind, afterBytes: rng.int(0, file.size - 1) },
    };
  }
  return {
    endpoint: rng.pick(['envelope.get', 'envelope.files'] as const),
    envelopeId: target.envelope.id,
    times: 1,
    fault: { kind, afterBytes: rng.int(minJsonBytes, maxJsonBytes) },
  };
}

const PLATFORM_RECIPES: PlatformRecipe[] = [
  {
    name: 'status 5xx',
    base: 8,
    arm: (rng, t) => ({
      ...on(rng, t, rng.pick(ALL_ENDPOINTS)),
      times: rng.int(1, 2),
      fault: { kind: 'status', status: rng.pick([500, 502, 503, 504]) },
    }),
  },
  {
    name: 'reset before acting',
    base: 6,
    arm: (rng, t) => ({ ...on(rng, t, rng.pick(ALL_ENDPOINTS)), times: 1, fault: { kind: 'reset' } }),
  },
  {
    name: 'delete done, answer lost',
    base: 5,
    arm: (_rng, t) => ({
      endpoint: 'envelope.delete',
      envelopeId: t.envelope.id,
      times: 1,
      fault: { kind: 'resetAfterHandling' },
    }),
  },
  {
    name: 'reset mid-download',
    base: 4,
    arm: (rng, t) => {
      const file = someFile(rng, t);
      return {
        endpoint: 'file.get',
        fileId: file.fileId,
        times: 1,
        fault: { kind: 'reset', afterBytes: rng.int(1, file.size - 1) },
      };
    },
  },
  {
    name: 'truncated body',
    base: 5,
    arm: (rng, t) => cutBody(rng, t, 'truncate', 5, 40),
  },
  {
    name: '429 Retry-After',
    base: 5,
    arm: (rng, t) => ({
      ...on(rng, t, rng.pick(ALL_ENDPOINTS)),
      times: rng.int(1, 2),
      fault: { kind: 'rateLimit', retryAfter: rng.int(1, 2) },
    }),
  },
  {
    name: 'stall',
    base: 3,
    arm: (rng, t) => cutBody(rng, t, 'stall', 0, 20),
  },
  {
    name: 'latency',
    base: 3,
    arm: (rng, t) => ({
      ...on(rng, t, rng.pick(ALL_ENDPOINTS)),
      times: rng.int(1, 3),
      fault: { kind: 'latency', ms: rng.int(200, 1_500) },
    }),
  },
];

interface S3Recipe {
  name: string;
  base: number;
  arm(rng: SeededRandom, target: Target): Omit<S3FaultRule, 'keyIncludes'>;
}

const S3_RECIPES: S3Recipe[] = [
  {
    name: 'reset mid-upload',
    base: 5,
    arm: (rng, t) => ({
      operation: t.envelope.big ? rng.pick(['UploadPart', 'PutObject'] as const) : 'PutObject',
      times: 1,
      fault: { kind: 'reset', afterFraction: rng.between(0.1, 0.9) },
    }),
  },
  {
    name: 'answer lost',
    base: 8,
    arm: (rng, t) => ({
      operation: rng.pick<S3Operation>(
        t.envelope.big
          ? [
              'PutObject',
              'UploadPart',
              'CreateMultipartUpload',
              'CompleteMultipartUpload',
              'CopyObject',
              'HeadObject',
            ]
          : ['PutObject', 'PutObject', 'HeadObject', 'CopyObject'],
      ),
      times: 1,
      fault: { kind: 'lostAnswer' },
    }),
  },
  {
    name: 'SlowDown',
    base: 6,
    arm: (rng, t) => ({
      operation: rng.pick<S3Operation>(
        t.envelope.big
          ? ['PutObject', 'UploadPart', 'CreateMultipartUpload', 'HeadObject', 'CopyObject', 'GetObject']
          : ['PutObject', 'HeadObject', 'GetObject', 'CopyObject'],
      ),
      times: rng.int(1, 2),
      fault: { kind: 'slowDown' },
    }),
  },
  {
    name: 'corrupted on the way',
    base: 3,
    arm: (rng, t) => ({
      operation: t.envelope.big ? rng.pick(['UploadPart', 'PutObject'] as const) : 'PutObject',
      times: 1,
      fault: { kind: 'corrupt', atFraction: rng.between(0.05, 0.95) },
    }),
  },
];

export interface ArmedFaults {
  /** Platform rules by recipe name. */
  platform: Record<string, number>;
  s3: Record<string, number>;
  /** Per envelope, the substrings its S3 rules match; a transfer id is added once known. */
  s3Keys: Map<string, string[]>;
  /** The platform rules, for the report. */
  platformRules: { recipe: string; rule: SimFaultRule }[];
  s3Rules: { recipe: string; envelopeId: string; rule: Omit<S3FaultRule, 'keyIncludes'> }[];
}

/**
 * Arms the faults of phase 2 on envelopes already in the simulator: each recipe a number of times
 * (at least once), on envelopes drawn from the good ones; the bad ones get only their permanent
 * corruption, so their true cause stays the one expected. Big documents are served slowly once,
 * so kills land in the middle of their uploads.
 */
export function armFaults(
  rng: SeededRandom,
  scale: number,
  sim: EsignAnywhereSimulator,
  envelopes: PlannedEnvelope[],
  addS3Fault: (rule: S3FaultRule) => void,
): ArmedFaults {
  const targets: Target[] = envelopes.map((envelope) => ({
    envelope,
    files: sim.envelopeFiles(envelope.id),
  }));
  const good = targets.filter((t) => !t.envelope.bad);
  const armed: ArmedFaults = { platform: {}, s3: {}, s3Keys: new Map(), platformRules: [], s3Rules: [] };
  const addPlatform = (recipe: string, rule: SimFaultRule): void => {
    sim.addFault(rule);
    armed.platform[recipe] = (armed.platform[recipe] ?? 0) + 1;
    armed.platformRules.push({ recipe, rule });
  };

  for (const t of targets.filter((x) => x.envelope.bad)) {
    const document = t.files.find((f) => f.kind === 'document')!;
    addPlatform('corrupt PDF (permanent)', {
      endpoint: 'file.get',
      fileId: document.fileId,
      fault: { kind: 'corruptPdf' },
    });
  }
  for (const t of good.filter((x) => x.envelope.big)) {
    const large = t.files.find((f) => f.kind === 'document' && f.size > 5 * MB)!;
    addPlatform('slow download', {
      endpoint: 'file.get',
      fileId: large.fileId,
      times: 1,
      fault: { kind: 'trickle', bytesPerSecond: rng.int(1, 2) * MB },
    });
  }
  for (const recipe of PLATFORM_RECIPES) {
    for (let i = 0, n = Math.max(1, Math.round(recipe.base * scale)); i < n; i++) {
      addPlatform(recipe.name, recipe.arm(rng, rng.pick(good)));
    }
  }
  for (const recipe of S3_RECIPES) {
    for (let i = 0, n = Math.max(1, Math.round(recipe.base * scale)); i < n; i++) {
      const target = rng.pick(good);
      let keys = armed.s3Keys.get(target.envelope.id);
      if (!keys) {
        keys = [target.envelope.id];
        armed.s3Keys.set(target.envelope.id, keys);
      }
      const rule = recipe.arm(rng, target);
      addS3Fault({ ...rule, keyIncludes: keys, label: `${recipe.name} on ${target.envelope.id}` });
      armed.s3[recipe.name] = (armed.s3[recipe.name] ?? 0) + 1;
      armed.s3Rules.push({ recipe: recipe.name, envelopeId: target.envelope.id, rule });
    }
  }
  return armed;
}
