import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArchiveWorld } from '../support/archive-world';

const HOSTILE_NAMES = [
  'Signed\u0000contract.pdf',
  // 3,000 characters; its Content-Disposition (percent-encoded) stays under Node's 16 KB of headers.
  `${'Ä'.repeat(600)}${'b'.repeat(2400)}.pdf`,
  '../../../etc/passwd.pdf',
  '..\\..\\windows\\system32.pdf',
  'invoice\u202Efdp.exe.pdf',
  '   ',
  'CON.pdf',
  'con.PDF',
  '/absolute/path.pdf',
  'zero\u200Bwidth\uFEFF.pdf',
  'tab\tnew\nline\r.pdf',
];

describe('platform data is untrusted', () => {
  let world: ArchiveWorld;
  before(async () => {
    world = await ArchiveWorld.start({
      env: {
        ARCHIVE_MAX_FILE_MB: '1',
        ARCHIVE_MIN_RATE_KBPS: '16',
        ARCHIVE_FILE_GRACE_MS: '1000',
        S3_PART_SIZE_MB: '5',
      },
    });
  });
  after(async () => {
    await world.close();
  });

  const documentsOf = (transferId: string) =>
    world.query<{ kind: string; file_name: string; s3_key: string; verified_at: Date | null }>(
      'SELECT kind, file_name, s3_key, verified_at FROM transfer_documents WHERE transfer_id = $1 ORDER BY id',
      [transferId],
    );

  it('any file name: a safe, unique key under the envelope, the original kept escaped', async () => {
    const envelope = world.createEnvelope({
      callbackUrl: null,
      documents: HOSTILE_NAMES.map((fileName) => ({ fileName, size: 3000 })),
    });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
    assert.equal(transfer.state, 'done', `${transfer.cause}: ${transfer.last_error}`);
    const docs = await documentsOf(transfer.id);
    const base = docs.find((d) => d.kind === 'manifest')!.s3_key.replace(/manifest\.json$/, '');
    assert.match(base, new RegExp(`^archive/\\d{4}/\\d{2}/${envelope.id}/$`, 'i'));
    const keys = docs.map((d) => d.s3_key);
    assert.equal(new Set(keys.map((k) => k.toLowerCase())).size, keys.length, 'keys are unique');
    for (const key of keys) {
      assert.ok(key.startsWith(base), `${key} is outside the envelope's folder`);
      assert.doesNotMatch(key, /[\p{Cc}\p{Cf}\\]|\/\.\.?\/|\/\//u, `unsafe key ${JSON.stringify(key)}`);
      assert.ok(Buffer.byteLength(key) <= 1024);
    }
    const stored = new Set(await world.listKeys(base));
    for (const key of keys) assert.ok(stored.has(key), `${key} not in S3`);
    const names = docs.filter((d) => d.kind === 'signed_document').map((d) => d.file_name);
    assert.ok(
      names.includes('Signed\\u{0}contract.pdf'),
      `the NUL is kept, escaped: ${JSON.stringify(names)}`,
    );
    assert.ok(names.includes('invoice\\u{202e}fdp.exe.pdf'), 'the bidi override is kept, escaped');
    assert.ok(
      names.some((n) => n.startsWith('ÄÄÄ') && n.endsWith('…')),
      'a long name is kept, cut',
    );
    const manifest = JSON.parse(
      (await world.objectBytes(docs.find((d) => d.kind === 'manifest')!.s3_key)).toString('utf8'),
    ) as { documents: { fileName: string; key: string }[] };
    assert.ok(manifest.documents.some((d) => d.fileName === 'Signed\\u{0}contract.pdf'));
    const meta = await world.objectMeta(docs.find((d) => d.file_name === 'Signed\\u{0}contract.pdf')!.s3_key);
    assert.equal(meta.metadata['file-name'], 'Signed\\u{0}contract.pdf');
  });

  it('hostile metadata: documents archived anyway, a warning for ops, system tags never shadowed', async () => {
    const deep = `${'<a>'.repeat(150)}x${'</a>'.repeat(150)}`;
    const cases = [
      `<Dms>${deep}</Dms>`,
      '<Dms><__proto__><polluted>yes</polluted></__proto__><constructor>1</constructor></Dms>',
    ];
    for (const metaData of cases) {
      const envelope = world.createEnvelope({ callbackUrl: null, metaData });
      world.sim.finishEnvelope(envelope.id, 'Completed');
      assert.equal(await world.sendCallback(envelope.id), 200);
      const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
      assert.equal(transfer.state, 'done', `${transfer.cause}: ${transfer.last_error}`);
      const [row] = await world.query<{ warning: string | null }>(
        'SELECT warning FROM transfers WHERE id = $1',
        [transfer.id],
      );
      assert.match(row.warning ?? '', /metadata unusable/);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }

    const lookalikes =
      '<Dms><ｐｌａｔｆｏｒｍ>evil</ｐｌａｔｆｏｒｍ><Platform>evil</Platform><document-kind>evil</document-kind>' +
      '<envelope-status>Active</envelope-status><Customer>C-1</Customer></Dms>';
    const envelope = world.createEnvelope({ callbackUrl: null, metaData: lookalikes });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
    assert.equal(transfer.state, 'done');
    for (const doc of (await documentsOf(transfer.id)).filter((d) => d.kind !== 'manifest')) {
      const { tags } = await world.objectMeta(doc.s3_key);
      assert.equal(tags.platform, 'esignanywhere');
      assert.equal(tags['document-kind'], doc.kind);
      assert.equal(tags['envelope-status'], 'Completed');
      assert.equal(tags.Customer, 'C-1');
      const shadows = Object.keys(tags).filter((k) =>
        ['platform', 'document-kind', 'envelope-status'].includes(k.normalize('NFKC').toLowerCase()),
      );
      assert.equal(shadows.length, 3, `look-alike tags: ${JSON.stringify(tags)}`);
    }
  });

  it('a file that never ends is cut at the size limit and fails as file_too_large', async () => {
    const envelope = world.createEnvelope({
      callbackUrl: null,
      documents: [{ fileName: 'Endless.pdf', size: 3 * 1024 * 1024 }],
    });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [doc] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    world.sim.addFault({ endpoint: 'file.get', fileId: doc.fileId, fault: { kind: 'omitContentLength' } });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['failed', 'done'], 60_000);
    assert.equal(transfer.state, 'failed');
    assert.equal(transfer.cause, 'file_too_large');
    assert.match(transfer.last_error ?? '', /more than 1048576 bytes/);
    assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 0);
  });

  it('a download trickling below the minimum rate is cut as a transient error and retried', async () => {
    const envelope = world.createEnvelope({
      callbackUrl: null,
      documents: [{ fileName: 'Slow.pdf', size: 200_000 }],
    });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [doc] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: doc.fileId,
      times: 1,
      fault: { kind: 'trickle', bytesPerSecond: 2000 },
    });
    const started = Date.now();
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
    assert.equal(transfer.state, 'done');
    assert.ok(Date.now() - started < 20_000, 'the trickle was given up early, not read to its end');
    const attempts = await world.query<{ error_class: string | null; error: string | null }>(
      'SELECT error_class, error FROM transfer_attempts WHERE transfer_id = $1 ORDER BY id',
      [transfer.id],
    );
    assert.equal(attempts[0].error_class, 'TRANSIENT');
    assert.match(attempts[0].error ?? '', /slower than the minimum 16 KB\/s/);
  });

  it('only allowed content types are stored as given', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const xml = world.sim.envelopeFiles(envelope.id).find((f) => f.kind === 'auditTrailXml')!;
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: xml.fileId,
      fault: { kind: 'contentType', value: 'text/html; charset=utf-8' },
    });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
    assert.equal(transfer.state, 'done');
    const docs = await documentsOf(transfer.id);
    const types = new Map<string, string | undefined>();
    for (const d of docs) {
      const head = await world.s3.client.send(
        new (await import('@aws-sdk/client-s3')).HeadObjectCommand({
          Bucket: world.s3.bucket,
          Key: d.s3_key,
        }),
      );
      types.set(d.kind, head.ContentType);
    }
    assert.equal(types.get('audit_trail_xml'), 'application/octet-stream');
    assert.equal(types.get('signed_document'), 'application/pdf');
  });
});
