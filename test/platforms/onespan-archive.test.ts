import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { idKeySegment } from '../../src/storage/object-keys';
import { ArchiveWorld } from '../support/archive-world';
import { OnespanSimulator } from '../simulators/onespan/onespan.simulator';

const ONESPAN_CALLBACK_KEY = 'onespan-callback-key-0123456789';
const CONGA_USER = 'archiver';
const CONGA_PASSWORD = 'conga-callback-password-0123';

interface Row {
  state: string;
  cause: string | null;
  origin: string;
  platform_deleted_at: Date | null;
  last_error: string | null;
}

/**
 * OneSpan Sign (API key, callback key) and Conga Sign (Conga's client-credentials token on the gateway's
 * paths, Basic callback credentials), each its own simulator over HTTP, archived by the real service into
 * S3 beside an eSignAnyWhere world.
 */
describe('OneSpan Sign and Conga Sign, end to end', () => {
  let world: ArchiveWorld;
  const onespan = new OnespanSimulator();
  const conga = new OnespanSimulator();

  before(async () => {
    await Promise.all([onespan.start(), conga.start()]);
    world = await ArchiveWorld.start({ startApp: false });
    conga.registerCongaClient({ clientId: 'archiver-client', clientSecret: 'archiver-client-secret' });
    await world.startApp({
      ONESPAN_BASE_URL: onespan.baseUrl,
      ONESPAN_API_KEY: onespan.createApiKey(),
      ONESPAN_CALLBACK_KEY,
      ONESPAN_MAX_RETRIES: '0',
      CONGA_BASE_URL: `${conga.url}/api/sign`,
      CONGA_CLIENT_ID: 'archiver-client',
      CONGA_CLIENT_SECRET: 'archiver-client-secret',
      CONGA_TOKEN_URL: conga.congaTokenUrl,
      CONGA_CALLBACK_USER: CONGA_USER,
      CONGA_CALLBACK_PASSWORD: CONGA_PASSWORD,
    });
    onespan.configure({
      callbackUrl: `${world.svc!.url}/callbacks/onespan`,
      callbackAuth: { type: 'key', key: ONESPAN_CALLBACK_KEY },
    });
    conga.configure({
      callbackUrl: `${world.svc!.url}/callbacks/conga`,
      callbackAuth: { type: 'basic', username: CONGA_USER, password: CONGA_PASSWORD },
    });
  });
  after(async () => {
    await world?.close();
    await Promise.all([onespan.stop(), conga.stop()]);
  });

  const row = async (platform: string, packageId: string): Promise<Row | undefined> =>
    (
      await world.query<Row>(
        'SELECT state, cause, origin, platform_deleted_at, last_error FROM transfers WHERE platform = $1 AND envelope_id = $2',
        [platform, packageId],
      )
    )[0];

  async function waitFor(platform: string, packageId: string, states: string[]): Promise<Row> {
    const deadline = Date.now() + 30_000;
    let last: Row | undefined;
    while (Date.now() < deadline) {
      last = await row(platform, packageId);
      if (last && states.includes(last.state)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${platform} ${packageId} did not reach ${states.join('|')}: ${JSON.stringify(last)}`);
  }

  const sentPackage = (sim: OnespanSimulator) =>
    sim.createPackage({
      status: 'SENT',
      name: 'Rahmenvertrag 2026',
      data: { customer: 'C-17', docType: 'contract' },
      documents: [
        { id: 'contract', name: 'Contract', size: 30_000 },
        { id: 'annex', name: 'Annex A.pdf', size: 5000 },
      ],
      signers: [{ email: 'signer@example.com' }],
    });

  async function assertArchived(
    sim: OnespanSimulator,
    platform: string,
    packageId: string,
  ): Promise<string[]> {
    const done = await waitFor(platform, packageId, ['done']);
    assert.ok(done.platform_deleted_at, 'deleted on the platform after the proof');
    assert.equal(sim.getPackage(packageId)?.deleted, true);
    const keys = (await world.listKeys('archive/')).filter((k) => k.includes(`/${idKeySegment(packageId)}/`));
    const named = (kind: string) => keys.filter((k) => k.includes(`/${kind}/`));
    assert.equal(named('signed_document').length, 2, keys.join('\n'));
    assert.equal(named('audit_trail_pdf').length, 1, 'the evidence summary');
    assert.equal(named('audit_trail_json').length, 1, 'the audit JSON');
    assert.ok(keys.some((k) => k.endsWith('/manifest.json')));
    const contract = named('signed_document').find((k) => k.endsWith('/Contract.pdf'))!;
    assert.equal(await world.objectSha256(contract), sim.expectedFile(packageId, 'contract').sha256);
    const evidence = named('audit_trail_pdf')[0];
    assert.equal(await world.objectSha256(evidence), sim.expectedFile(packageId, 'evidence-summary').sha256);
    const meta = await world.objectMeta(contract);
    assert.equal(meta.tags.platform, platform);
    assert.equal(meta.metadata['envelope-id'], packageId, 'the case-sensitive id, as given');
    return keys;
  }

  it('a completed OneSpan package is archived from its callback, proven and deleted', async () => {
    const pkg = sentPackage(onespan);
    onespan.finishPackage(pkg.id, 'COMPLETED');
    await assertArchived(onespan, 'onespan', pkg.id);
    const delivered = onespan.callbackDeliveries(pkg.id).find((d) => d.name === 'PACKAGE_COMPLETE');
    assert.equal(delivered?.state, 'delivered');
    assert.equal((await row('onespan', pkg.id))?.origin, 'callback');
  });

  it("a completed Conga package is archived through Conga's gateway and token", async () => {
    const pkg = sentPackage(conga);
    conga.finishPackage(pkg.id, 'COMPLETED');
    await assertArchived(conga, 'conga', pkg.id);
    const requests = conga.requests().filter((r) => r.packageId === pkg.id);
    assert.ok(
      requests.length > 0 && requests.every((r) => r.pathStyle === 'conga' && r.credentialKind === 'conga'),
    );
  });

  it('a declined package archives what exists', async () => {
    const pkg = sentPackage(onespan);
    onespan.finishPackage(pkg.id, 'DECLINED', { message: 'wrong address' });
    await assertArchived(onespan, 'onespan', pkg.id);
  });

  it('a callback with the wrong key is refused and writes nothing', async () => {
    const answer = await fetch(`${world.svc!.url}/callbacks/onespan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic not-the-key' },
      body: JSON.stringify({ name: 'PACKAGE_COMPLETE', packageId: 'Zm9yZ2VkLXBhY2thZ2U=' }),
    });
    assert.equal(answer.status, 401);
    assert.equal(await row('onespan', 'Zm9yZ2VkLXBhY2thZ2U='), undefined);
  });

  it('a package whose callback was lost is archived by reconciliation', async () => {
    onespan.configure({ callbackUrl: 'http://127.0.0.1:9/callbacks/onespan' });
    try {
      const pkg = sentPackage(onespan);
      onespan.finishPackage(pkg.id, 'COMPLETED');
      await onespan.waitForCallback(pkg.id, 'PACKAGE_COMPLETE');
      assert.equal(await row('onespan', pkg.id), undefined, 'OneSpan does not retry');
      const results = await world.svc!.app.get(ReconciliationService).runAll();
      const result = results.find((r) => r.platform === 'onespan');
      assert.equal(result?.outcome, 'ok', result?.errors.join('; '));
      assert.ok((result?.created ?? 0) >= 1);
      await assertArchived(onespan, 'onespan', pkg.id);
      assert.equal((await row('onespan', pkg.id))?.origin, 'reconciliation');
    } finally {
      onespan.configure({ callbackUrl: `${world.svc!.url}/callbacks/onespan` });
    }
  });
});
