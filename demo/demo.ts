// npm run demo [-- --once]: the service on embedded PostgreSQL and S3, wired to the eSignAnyWhere,
// OneSpan Sign, Conga Sign and Legalesign simulators, with a handful of envelopes sent through (one of them failing). Prints where each
// document landed and what failed, then stays up for a look at the admin page (or exits with --once).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../src/app.factory';
import { ConfigError, loadConfig } from '../src/config/app-config';
import { EMBEDDED_S3 } from '../src/storage/storage.module';
import type { EmbeddedS3 } from '../src/storage/embedded-s3';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { CALLBACK_SIGNING_CERT_PATH } from '../test/simulators/legalesign/legalesign-callback-signing';
import { LegalesignSimulator } from '../test/simulators/legalesign/legalesign.simulator';
import { OnespanSimulator } from '../test/simulators/onespan/onespan.simulator';

const once = process.argv.includes('--once');
const TERMINAL = ['done', 'failed', 'gone', 'needs_consent', 'dismissed'];

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const publicUrl = `http://localhost:${port}`;
  const callbackToken = randomBytes(18).toString('base64url');
  const adminToken = randomBytes(18).toString('base64url');

  const sim = new EsignAnywhereSimulator({
    callbackIntervalUnitMs: 2000,
    oauthClients: [
      {
        clientId: 'demo-archiver',
        clientSecret: 'demo-secret',
        redirectUris: [`${publicUrl}/consent/oauth/callback`],
      },
    ],
  });
  const simUrl = await sim.start();
  const { user, token } = sim.createUser({
    email: 'alex.sender@example.com',
    givenName: 'Alex',
    surname: 'Sender',
  });

  // OneSpan Sign with an account API key, and Conga Sign through Conga's gateway and token.
  const onespan = new OnespanSimulator();
  const conga = new OnespanSimulator();
  await Promise.all([onespan.start(), conga.start()]);
  conga.registerCongaClient({ clientId: 'demo-conga', clientSecret: 'demo-conga-secret' });
  const oneSpanCallbackKey = randomBytes(18).toString('base64url');
  const congaCallbackToken = randomBytes(18).toString('base64url');
  // Legalesign: its batched callback signed with the simulator's test certificate, its realtime webhook.
  const legalesign = new LegalesignSimulator({ groups: [{ slug: 'demo-team' }] });
  await legalesign.start();
  const legalesignCallbackToken = randomBytes(18).toString('base64url');

  let config;
  try {
    config = loadConfig({
      LOG_LEVEL: 'warn',
      ARCHIVE_POLL_INTERVAL_MS: '1000',
      RETRY_BASE_DELAY_MS: '1000',
      RETRY_MAX_DELAY_MS: '10000',
      ALERT_TO: 'ops@example.com',
      PUBLIC_BASE_URL: publicUrl,
      TOKEN_ENCRYPTION_KEYS: `demo:${randomBytes(32).toString('base64')}`,
      ESAW_OAUTH_CLIENT_ID: 'demo-archiver',
      ESAW_OAUTH_CLIENT_SECRET: 'demo-secret',
      ESAW_INBOX_URL: `${sim.url}/inbox`,
      ...process.env,
      PORT: String(port),
      CALLBACK_TOKEN: callbackToken,
      ADMIN_TOKENS: `demo:${adminToken}`,
      ESAW_BASE_URL: simUrl,
      ESAW_API_TOKEN: token,
      ONESPAN_BASE_URL: onespan.baseUrl,
      ONESPAN_API_KEY: onespan.createApiKey(),
      ONESPAN_CALLBACK_KEY: oneSpanCallbackKey,
      CONGA_BASE_URL: `${conga.url}/api/sign`,
      CONGA_CLIENT_ID: 'demo-conga',
      CONGA_CLIENT_SECRET: 'demo-conga-secret',
      CONGA_TOKEN_URL: conga.congaTokenUrl,
      CONGA_CALLBACK_TOKEN: congaCallbackToken,
      LEGALESIGN_API_KEY: legalesign.apiKey,
      LEGALESIGN_BASE_URL: legalesign.baseUrl,
      LEGALESIGN_CALLBACK_CERT: CALLBACK_SIGNING_CERT_PATH,
      LEGALESIGN_CALLBACK_TOKEN: legalesignCallbackToken,
    });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(78);
  }

  const app = await createApp(config);
  await app.listen(port, '127.0.0.1');
  sim.setCallbackUrlTemplate(
    `${publicUrl}/callbacks/esignanywhere?envelope=##EnvelopeId##&action=##Action##&token=${callbackToken}`,
  );
  console.log(`service:   ${publicUrl}  (data under ${config.service.DATA_DIR}/)`);
  console.log(`simulator: ${simUrl}`);
  onespan.configure({
    callbackUrl: `${publicUrl}/callbacks/onespan`,
    callbackAuth: { type: 'key', key: oneSpanCallbackKey },
  });
  conga.configure({
    callbackUrl: `${publicUrl}/callbacks/conga`,
    callbackAuth: { type: 'bearer', token: congaCallbackToken },
  });
  console.log(`OneSpan:   ${onespan.baseUrl}`);
  console.log(`Conga:     ${conga.url}/api/sign`);
  legalesign.configure({
    batchUrl: `${publicUrl}/callbacks/legalesign`,
    realtimeUrl: `${publicUrl}/callbacks/legalesign?token=${legalesignCallbackToken}`,
  });
  console.log(`Legalesign: ${legalesign.baseUrl}`);

  const meta = (customer: string, type: string) =>
    `<Dms><Customer><Id>${customer}</Id></Customer><DocType>${type}</DocType></Dms>`;
  const envelopes = [
    sim.createEnvelope({
      senderUserId: user.id,
      name: 'Employment contract',
      metaData: meta('C-1001', 'contract'),
      documents: [
        { fileName: 'Employment contract.pdf', size: 180_000, attachments: [{ fileName: 'Passport.pdf' }] },
      ],
      legalDocuments: [{ fileName: 'CA22D certificate request.pdf' }],
      recipients: [{ email: 'new.hire@example.com' }],
    }),
    sim.createEnvelope({
      senderUserId: user.id,
      name: 'Supplier NDA',
      metaData: meta('S-2002', 'nda'),
      documents: [{ fileName: 'NDA.pdf' }, { fileName: 'NDA annex.pdf' }],
      recipients: [{ email: 'supplier@example.com' }],
    }),
    sim.createEnvelope({
      senderUserId: user.id,
      name: 'Rejected offer',
      metaData: meta('C-3003', 'offer'),
      recipients: [{ email: 'candidate@example.com' }],
    }),
    sim.createEnvelope({
      senderUserId: user.id,
      name: 'Lease (corrupt download)',
      metaData: meta('C-4004', 'lease'),
      recipients: [{ email: 'tenant@example.com' }],
    }),
  ];
  // The last one fails on purpose: its signed PDF arrives without %%EOF every time.
  const [corrupt] = sim.envelopeFiles(envelopes[3].id).filter((f) => f.kind === 'document');
  sim.addFault({
    endpoint: 'file.get',
    fileId: corrupt.fileId,
    fault: { kind: 'corruptPdf', mode: 'trailer' },
  });

  const packages = [
    { platform: 'onespan', sim: onespan, name: 'Loan agreement (OneSpan Sign)' },
    { platform: 'conga', sim: conga, name: 'Service order (Conga Sign)' },
  ].map((p) => ({
    ...p,
    id: p.sim.createPackage({
      status: 'SENT',
      name: p.name,
      data: { customer: 'C-5005', docType: 'agreement' },
      documents: [{ id: 'agreement', name: 'Agreement', size: 60_000 }],
      signers: [{ email: 'borrower@example.com' }],
    }).id,
  }));
  for (const p of packages) p.sim.finishPackage(p.id, 'COMPLETED');

  // Legalesign: one PDF handed out through a short-lived link on another host; both are announced by
  // the realtime webhook, and again by the signed batch (noted once per change, archived once).
  const legalesignDocuments = [
    { name: 'Consultancy agreement (Legalesign)', delivery: 'redirect' as const },
    { name: 'Purchase order (Legalesign)', delivery: 'direct' as const },
  ].map((d) =>
    legalesign.createDocument({ ...d, tags: { tag: 'C-6006', tag1: 'agreement' }, pdfBytes: 50_000 }),
  );
  for (const d of legalesignDocuments) legalesign.signDocument(d.uuid);
  await legalesign.flushBatch();

  sim.finishEnvelope(envelopes[0].id, 'Completed');
  sim.finishEnvelope(envelopes[1].id, 'Completed');
  sim.finishEnvelope(envelopes[2].id, 'Rejected');
  sim.finishEnvelope(envelopes[3].id, 'Completed');
  console.log(
    `\nsent ${envelopes.length + packages.length + legalesignDocuments.length} envelopes through; waiting for the archive job...`,
  );

  const db = app.get(DataSource);
  const bucket =
    config.storage.S3_BUCKET ?? app.get<EmbeddedS3 | null>(EMBEDDED_S3, { strict: false })?.bucket;
  const ids = [
    ...envelopes.map((e) => e.id),
    ...packages.map((p) => p.id),
    ...legalesignDocuments.map((d) => d.uuid),
  ];
  const deadline = Date.now() + 120_000;
  let rows: {
    envelope_id: string;
    state: string;
    cause: string | null;
    last_error: string | null;
    id: string;
  }[] = [];
  while (Date.now() < deadline) {
    rows = await db.query(
      'SELECT id, envelope_id, state, cause, last_error FROM transfers WHERE envelope_id = ANY($1::text[])',
      [ids],
    );
    if (rows.length === ids.length && rows.every((r) => TERMINAL.includes(r.state))) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  // Give the mail job a moment to send what the failures queued.
  for (let i = 0; i < 20; i++) {
    const [{ n }] = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM outbound_mail WHERE state = 'pending'`,
    );
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  console.log('\nsummary');
  const shown = [
    ...envelopes.map((e) => ({ id: e.id, name: e.name, deleted: () => sim.getEnvelope(e.id)?.deleted })),
    ...packages.map((p) => ({ id: p.id, name: p.name, deleted: () => p.sim.getPackage(p.id)?.deleted })),
    ...legalesignDocuments.map((d) => ({
      id: d.uuid,
      name: d.name,
      deleted: () => legalesign.getDocument(d.uuid)?.deleted,
    })),
  ];
  for (const envelope of shown) {
    const row = rows.find((r) => r.envelope_id === envelope.id);
    console.log(`\n  ${envelope.name} (${envelope.id})`);
    if (!row) {
      console.log('    no transfer yet');
      continue;
    }
    console.log(`    state: ${row.state}${row.cause ? ` (${row.cause})` : ''}`);
    if (row.state === 'failed') console.log(`    last error: ${row.last_error}`);
    const docs: { kind: string; s3_key: string; size: string; sha256: string | null }[] = await db.query(
      'SELECT kind, s3_key, size, sha256 FROM transfer_documents WHERE transfer_id = $1 AND verified_at IS NOT NULL ORDER BY id',
      [row.id],
    );
    for (const d of docs)
      console.log(
        `    ${d.kind.padEnd(16)} s3://${bucket}/${d.s3_key}  ${d.size} B  sha256 ${d.sha256?.slice(0, 16)}...`,
      );
    console.log(`    deleted on the platform: ${envelope.deleted() ? 'yes' : 'no'}`);
  }
  console.log(
    `\nmail: ${config.mail.SMTP_URL ? 'sent through SMTP_URL' : `written to ${join(config.service.DATA_DIR, 'mail')}/`}`,
  );
  console.log(`admin page: ${publicUrl}/admin  (token: ${adminToken})`);
  console.log(`metrics:    ${publicUrl}/metrics`);

  const stop = async () => {
    await app.close();
    await Promise.all([sim.stop(), onespan.stop(), conga.stop(), legalesign.stop()]);
    process.exit(0);
  };
  if (once) return stop();
  console.log('\nrunning; Ctrl-C to stop');
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error('demo failed:', error);
  process.exit(1);
});
