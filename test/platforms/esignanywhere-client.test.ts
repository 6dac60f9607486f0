import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { EsignAnywhereClient } from '../../src/platforms/esignanywhere/esignanywhere.client';
import type { PlatformErrorCode } from '../../src/platforms/platform-error';
import {
  esignAnywhereClientOptions,
  esignAnywhereConfig,
} from '../../src/platforms/esignanywhere/esignanywhere.config';
import { createPkceVerifier, pkceChallengeS256 } from '../../src/platforms/esignanywhere/esignanywhere.pkce';
import {
  EsignAnywhereSimulator,
  type SimEnvelopeSnapshot,
} from '../simulators/esignanywhere/esignanywhere.simulator';
import {
  makeClient,
  rejectsWithPlatformError,
  sha256Of,
  startSimulatorProcess,
  startReceiver,
} from './esignanywhere.fixtures';

const OAUTH_CLIENT_ID = 'esign-archiver';
const OAUTH_CLIENT_SECRET = 'client-secret-Zx81-never-logged';
const REDIRECT_URI = 'http://127.0.0.1:9/consent/esignanywhere/callback';
// Every test bounds itself, so a regression that hangs (an unbounded retry wait) fails fast.
const T = { timeout: 20_000 };

describe('EsignAnywhereClient against the eSignAnyWhere simulator', () => {
  const sim = new EsignAnywhereSimulator({
    oauthClients: [
      { clientId: OAUTH_CLIENT_ID, clientSecret: OAUTH_CLIENT_SECRET, redirectUris: [REDIRECT_URI] },
    ],
  });
  const clients: EsignAnywhereClient[] = [];
  const client = (overrides: Parameters<typeof makeClient>[1] = {}): EsignAnywhereClient => {
    const created = makeClient(sim, overrides);
    clients.push(created);
    return created;
  };

  before(async () => {
    await sim.start();
  });

  afterEach(() => {
    sim.clearFaults();
    sim.clearRequests();
    sim.setOAuthDecision(null);
    for (const c of clients.splice(0)) c.close();
  });

  after(async () => {
    await sim.stop();
  });

  function sender(): { userId: string; token: string } {
    const { user, token } = sim.createUser();
    return { userId: user.id, token };
  }

  function completedEnvelope(
    userId: string,
    extra: Partial<Parameters<typeof sim.createEnvelope>[0]> = {},
  ): SimEnvelopeSnapshot {
    return sim.createEnvelope({ senderUserId: userId, status: 'Completed', ...extra });
  }

  describe('reads', () => {
    it('getEnvelope maps status, sender and activities, sending the token as ApiToken', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId, {
        name: 'Lease 2026',
        recipients: [{ email: 'signer@example.test', givenName: 'Sia', surname: 'Signer' }],
      });

      const result = await client().getEnvelope(token, envelope.id);

      assert.equal(result.id, envelope.id);
      assert.equal(result.status, 'Completed');
      assert.equal(result.name, 'Lease 2026');
      assert.equal(result.sender.email, sim.getUser(userId)?.email);
      assert.equal(result.activities.length, 1);
      assert.equal(result.activities[0].status, 'Completed');
      assert.equal(result.activities[0].actionType, 'Sign');
      assert.deepEqual(result.activities[0].recipient, {
        email: 'signer@example.test',
        givenName: 'Sia',
        surname: 'Signer',
      });
      assert.ok(result.sentDate && !Number.isNaN(Date.parse(result.sentDate)));
      const [request] = sim.requests({ endpoint: 'envelope.get' });
      assert.equal(request.userId, userId);
      assert.equal(request.tokenState, 'valid');
    });

    it('sends the token as Authorization: Bearer when configured so', T, async () => {
      const { userId, token } = sender();
      const envelope = sim.createEnvelope({ senderUserId: userId });
      const result = await client({ authHeader: 'Bearer' }).getEnvelope(token, envelope.id);
      assert.equal(result.status, 'Active');
      assert.equal(sim.requests({ endpoint: 'envelope.get' })[0].userId, userId);
    });

    it('getConfiguration returns the MetaData string, or null when unset', T, async () => {
      const { userId, token } = sender();
      const tagged = completedEnvelope(userId, { metaData: '<dms><folder>HR/2026</folder></dms>' });
      const untagged = completedEnvelope(userId);
      assert.deepEqual(await client().getConfiguration(token, tagged.id), {
        metaData: '<dms><folder>HR/2026</folder></dms>',
      });
      assert.deepEqual(await client().getConfiguration(token, untagged.id), { metaData: null });
    });

    it(
      'listFiles lists documents with attachments and audit trails, the audit trail pair and legal documents',
      T,
      async () => {
        const { userId, token } = sender();
        const envelope = completedEnvelope(userId, {
          documents: [
            { fileName: 'Contract.pdf', pageCount: 3, attachments: [{ fileName: 'ID.pdf' }] },
            { fileName: 'Annex.pdf' },
          ],
          legalDocuments: [{ fileName: 'CA22D.pdf', email: 'signer@example.test' }],
          separateAuditTrailPerDocument: true,
        });

        const files = await client().listFiles(token, envelope.id);

        assert.equal(files.documents.length, 2);
        const [contract, annex] = files.documents;
        assert.equal(contract.fileId, envelope.documents[0].fileId);
        assert.equal(contract.fileName, 'Contract.pdf');
        assert.equal(contract.pageCount, 3);
        assert.equal(contract.documentNumber, 1);
        assert.equal(contract.auditTrailFileId, envelope.documents[0].auditTrailFileId);
        assert.deepEqual(contract.attachments, [
          { fileId: envelope.documents[0].attachments[0].fileId, fileName: 'ID.pdf' },
        ]);
        assert.equal(annex.fileName, 'Annex.pdf');
        assert.deepEqual(files.auditTrail, {
          fileId: envelope.auditTrail?.fileId,
          xmlFileId: envelope.auditTrail?.xmlFileId,
        });
        assert.deepEqual(files.legalDocuments, [
          {
            fileId: envelope.legalDocuments[0].fileId,
            fileName: 'CA22D.pdf',
            activityId: envelope.activities[0].id,
            email: 'signer@example.test',
          },
        ]);
      },
    );

    it('an active envelope has documents but no audit trail yet', T, async () => {
      const { userId, token } = sender();
      const envelope = sim.createEnvelope({ senderUserId: userId });
      const files = await client().listFiles(token, envelope.id);
      assert.equal(files.documents.length, 1);
      assert.deepEqual(files.auditTrail, {});
      assert.deepEqual(files.legalDocuments, []);
    });

    it('openFile streams a signed PDF byte for byte, with type, length and file name', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId, {
        documents: [{ fileName: 'Vertrag Müller.pdf', size: 3_000_000 }],
      });
      const fileId = envelope.documents[0].fileId;

      const download = await client().openFile(token, fileId);
      const got = await sha256Of(download.stream);
      const expected = await sim.expectedFile(fileId);

      assert.equal(download.contentType, 'application/pdf');
      assert.equal(download.contentLength, 3_000_000);
      assert.equal(download.fileName, 'Vertrag Müller.pdf');
      assert.equal(got.size, expected.size);
      assert.equal(got.sha256, expected.sha256);
      assert.equal(got.head.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.match(got.tail.toString('latin1'), /%%EOF\n$/);
    });

    it('openFile downloads the audit trail XML and legal documents too', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId, { legalDocuments: [{}] });
      const xml = await client().openFile(token, envelope.auditTrail?.xmlFileId as string);
      const xmlBody = await sha256Of(xml.stream);
      assert.match(xml.contentType ?? '', /xml/);
      assert.equal(xmlBody.sha256, (await sim.expectedFile(envelope.auditTrail?.xmlFileId as string)).sha256);
      const legal = await client().openFile(token, envelope.legalDocuments[0].fileId);
      assert.equal(
        (await sha256Of(legal.stream)).sha256,
        (await sim.expectedFile(envelope.legalDocuments[0].fileId)).sha256,
      );
    });

    it('findEnvelopes returns only the token owner envelopes matching the filter', T, async () => {
      const mine = sender();
      const theirs = sender();
      const completed = completedEnvelope(mine.userId, { metaData: '<m/>' });
      const active = sim.createEnvelope({ senderUserId: mine.userId });
      completedEnvelope(theirs.userId);

      const all = await client().findEnvelopes(mine.token);
      assert.deepEqual(all.map((e) => e.id).sort(), [completed.id, active.id].sort());
      const onlyCompleted = await client().findEnvelopes(mine.token, { status: 'Completed' });
      assert.deepEqual(onlyCompleted, [
        {
          id: completed.id,
          status: 'Completed',
          name: completed.name,
          metaData: '<m/>',
          isExpiringSoon: false,
        },
      ]);
      const none = await client().findEnvelopes(mine.token, { endDate: new Date('2001-01-01T00:00:00Z') });
      assert.deepEqual(none, []);
      const body = sim.requests({ endpoint: 'envelope.find' });
      assert.ok(body.every((r) => r.userId === mine.userId));
    });
  });

  describe('writes', () => {
    it('deleteEnvelope deletes once, after which the envelope and its files are NOT_FOUND', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      const c = client();
      const files = await c.listFiles(token, envelope.id);
      await sha256Of((await c.openFile(token, files.documents[0].fileId)).stream);

      await c.deleteEnvelope(token, envelope.id);

      assert.equal(sim.getEnvelope(envelope.id)?.deleted, true);
      await rejectsWithPlatformError(c.getEnvelope(token, envelope.id), 'NOT_FOUND', /ERR0007/);
      await rejectsWithPlatformError(c.listFiles(token, envelope.id), 'NOT_FOUND');
      await rejectsWithPlatformError(c.openFile(token, files.documents[0].fileId), 'NOT_FOUND', /ERR0008/);
      await rejectsWithPlatformError(c.deleteEnvelope(token, envelope.id), 'NOT_FOUND');
      const log = sim.requests({ envelopeId: envelope.id });
      const deletes = log.filter((r) => r.endpoint === 'envelope.delete');
      assert.equal(deletes.length, 2);
      assert.equal(deletes[0].status, 200);
      assert.ok(
        log.findIndex((r) => r.endpoint === 'envelope.delete') >
          log.findIndex((r) => r.endpoint === 'file.get'),
      );
    });

    it(
      'a delete refused with ERR0013 (an Active envelope) surfaces as PROTOCOL, not retried',
      T,
      async () => {
        const { userId, token } = sender();
        const envelope = sim.createEnvelope({ senderUserId: userId });
        // The real platform deletes an Active envelope; this refusal is the simulator's opt-in.
        sim.configure({ allowDeleteActive: false });
        try {
          await rejectsWithPlatformError(client().deleteEnvelope(token, envelope.id), 'PROTOCOL', /ERR0013/);
        } finally {
          sim.configure({ allowDeleteActive: undefined });
        }
        assert.equal(sim.getEnvelope(envelope.id)?.deleted, false);
        assert.equal(sim.requests({ endpoint: 'envelope.delete' }).length, 1);
      },
    );

    it(
      'sendDraft sends the owner draft as a new Active envelope; another user gets NOT_FOUND',
      T,
      async () => {
        const owner = sender();
        const stranger = sender();
        const draft = sim.createDraft({ ownerUserId: owner.userId, metaData: '<tag/>' });
        const foreignDraft = sim.createDraft({ ownerUserId: owner.userId });

        const sent = await client().sendDraft(owner.token, draft.id);

        assert.notEqual(sent.envelopeId.toLowerCase(), draft.id.toLowerCase());
        const envelope = await client().getEnvelope(owner.token, sent.envelopeId);
        assert.equal(envelope.status, 'Active');
        assert.deepEqual(await client().getConfiguration(owner.token, sent.envelopeId), {
          metaData: '<tag/>',
        });
        await rejectsWithPlatformError(client().sendDraft(owner.token, draft.id), 'NOT_FOUND');
        await rejectsWithPlatformError(client().sendDraft(stranger.token, foreignDraft.id), 'NOT_FOUND');
        assert.ok(sim.getDraft(foreignDraft.id), 'a refused send leaves the draft alone');
      },
    );

    it('sendDraft also accepts a flat {EnvelopeId} answer', T, async () => {
      const owner = sender();
      const draft = sim.createDraft({ ownerUserId: owner.userId });
      sim.addFault({
        endpoint: 'draft.send',
        times: 1,
        fault: {
          kind: 'mutateJson',
          mutate: (b) => ({ EnvelopeId: (b as { Envelope: { EnvelopeId: string } }).Envelope.EnvelopeId }),
        },
      });
      const sent = await client().sendDraft(owner.token, draft.id);
      assert.ok(sim.getEnvelope(sent.envelopeId));
    });

    it('verifyToken accepts a working token and makes one small find', T, async () => {
      const { userId, token } = sender();
      completedEnvelope(userId);
      await client().verifyToken(token);
      const [request] = sim.requests({ endpoint: 'envelope.find' });
      assert.equal(request.userId, userId);
      assert.ok(request.bytesSent < 100, `the answer should be tiny, was ${request.bytesSent} bytes`);
    });
  });

  describe('error classes', () => {
    it('UNAUTHORIZED for an unknown token, without retrying', T, async () => {
      const { userId } = sender();
      const envelope = completedEnvelope(userId);
      const error = await rejectsWithPlatformError(
        client().getEnvelope('not-a-real-token-1234', envelope.id),
        'UNAUTHORIZED',
      );
      assert.equal(error.status, 401);
      await rejectsWithPlatformError(client().verifyToken('not-a-real-token-1234'), 'UNAUTHORIZED');
      assert.equal(sim.requests({ endpoint: 'envelope.get' }).length, 1);
    });

    it('UNAUTHORIZED once the token is revoked, also between two calls', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      const c = client();
      await c.getEnvelope(token, envelope.id);
      sim.addFault({ endpoint: 'envelope.files', userId, times: 1, fault: { kind: 'revokeToken' } });
      await rejectsWithPlatformError(c.listFiles(token, envelope.id), 'UNAUTHORIZED');
      await rejectsWithPlatformError(c.verifyToken(token), 'UNAUTHORIZED');
      const other = sender();
      sim.revokeToken(other.token);
      await rejectsWithPlatformError(c.verifyToken(other.token), 'UNAUTHORIZED');
    });

    it("another user's envelope is NOT_FOUND (the simulator does not reveal it exists)", T, async () => {
      const owner = sender();
      const stranger = sender();
      const envelope = completedEnvelope(owner.userId);
      await rejectsWithPlatformError(client().getEnvelope(stranger.token, envelope.id), 'NOT_FOUND');
      await rejectsWithPlatformError(
        client().openFile(stranger.token, envelope.documents[0].fileId),
        'NOT_FOUND',
      );
      assert.ok(sim.requests().every((r) => r.userId === stranger.userId));
    });

    it('NOT_FOUND when the envelope is deleted between getEnvelope and listFiles', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({
        endpoint: 'envelope.files',
        envelopeId: envelope.id,
        times: 1,
        fault: { kind: 'deleteEnvelope' },
      });
      const c = client();
      assert.equal((await c.getEnvelope(token, envelope.id)).status, 'Completed');
      await rejectsWithPlatformError(c.listFiles(token, envelope.id), 'NOT_FOUND');
      assert.equal(sim.requests({ endpoint: 'envelope.files' }).length, 1, 'a miss is not retried');
    });

    it('NOT_FOUND also for the 400-with-ERR0007 reading of a missing envelope', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({
        endpoint: 'envelope.get',
        times: 1,
        fault: {
          kind: 'status',
          status: 400,
          body: { ErrorId: 'ERR0007', Message: 'ERR0007 - Envelope not found', TraceId: 't' },
        },
      });
      await rejectsWithPlatformError(client().getEnvelope(token, envelope.id), 'NOT_FOUND');
    });

    it('RATE_LIMITED carries retryAfterMs from Retry-After seconds and HTTP dates', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      const c = client({ maxRetries: 0 });
      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'rateLimit', retryAfter: 7 } });
      const seconds = await rejectsWithPlatformError(c.getEnvelope(token, envelope.id), 'RATE_LIMITED');
      assert.equal(seconds.retryAfterMs, 7_000);
      assert.equal(seconds.status, 429);

      const at = new Date(Date.now() + 120_000).toUTCString();
      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'rateLimit', retryAfter: at } });
      const date = await rejectsWithPlatformError(c.getEnvelope(token, envelope.id), 'RATE_LIMITED');
      assert.ok(
        date.retryAfterMs !== undefined && date.retryAfterMs > 100_000 && date.retryAfterMs <= 120_000,
        String(date.retryAfterMs),
      );
    });

    it('a 429 is retried after the Retry-After pause, then succeeds', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'rateLimit', retryAfter: 1 } });
      const retries: number[] = [];
      const started = Date.now();
      const result = await client({ onRetry: (e) => retries.push(e.delayMs) }).getEnvelope(
        token,
        envelope.id,
      );
      assert.equal(result.id, envelope.id);
      assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
      assert.deepEqual(retries, [1_000]);
      assert.equal(sim.requests({ endpoint: 'envelope.get' }).length, 2);
    });

    it('a Retry-After longer than the in-process cap goes straight back to the caller', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.get', fault: { kind: 'rateLimit', retryAfter: 3600 } });
      const error = await rejectsWithPlatformError(client().getEnvelope(token, envelope.id), 'RATE_LIMITED');
      assert.equal(error.retryAfterMs, 3_600_000);
      assert.equal(sim.requests({ endpoint: 'envelope.get' }).length, 1);
    });

    it('GETs retry 5xx with backoff and succeed when the platform recovers', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.files', times: 2, fault: { kind: 'status', status: 503 } });
      const retries: number[] = [];
      const files = await client({ onRetry: (e) => retries.push(e.retry) }).listFiles(token, envelope.id);
      assert.equal(files.documents.length, 1);
      assert.deepEqual(retries, [1, 2]);
      assert.deepEqual(
        sim.requests({ endpoint: 'envelope.files' }).map((r) => r.status),
        [503, 503, 200],
      );
    });

    it('TRANSIENT after maxRetries + 1 attempts of a persistent 5xx', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.configuration', fault: { kind: 'status', status: 502 } });
      const error = await rejectsWithPlatformError(
        client({ maxRetries: 3 }).getConfiguration(token, envelope.id),
        'TRANSIENT',
        /HTTP 502/,
      );
      assert.equal(error.status, 502);
      assert.equal(sim.requests({ endpoint: 'envelope.configuration' }).length, 4);
    });

    it('TRANSIENT for a connection reset before the response, retried for reads', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'reset' } });
      assert.equal((await client().getEnvelope(token, envelope.id)).id, envelope.id);
      sim.addFault({ endpoint: 'envelope.get', fault: { kind: 'reset' } });
      const error = await rejectsWithPlatformError(
        client({ maxRetries: 1 }).getEnvelope(token, envelope.id),
        'TRANSIENT',
      );
      assert.ok(
        !(error.cause instanceof Error && 'config' in error.cause),
        'the cause is not an axios error',
      );
      assert.deepEqual(
        sim.requests({ endpoint: 'envelope.get' }).map((r) => r.outcome),
        ['reset', 'complete', 'reset', 'reset'],
      );
    });

    it('TRANSIENT when the response headers do not come within the response timeout', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.get', fault: { kind: 'latency', ms: 1_500 } });
      const started = Date.now();
      await rejectsWithPlatformError(
        client({ responseTimeoutMs: 200, maxRetries: 1 }).getEnvelope(token, envelope.id),
        'TRANSIENT',
        /no complete response within 200 ms/,
      );
      assert.ok(Date.now() - started < 1_400, 'gave up on its own deadline, twice');
    });

    it('TRANSIENT for a truncated JSON body', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.files', fault: { kind: 'truncate', afterBytes: 40 } });
      await rejectsWithPlatformError(client({ maxRetries: 0 }).listFiles(token, envelope.id), 'TRANSIENT');
    });

    it('TRANSIENT when the TLS handshake never completes within the connect timeout', T, async () => {
      // A loopback TCP server that accepts and then says nothing: the https client waits in the handshake.
      const sockets: net.Socket[] = [];
      const silent = net.createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const started = Date.now();
        await rejectsWithPlatformError(
          makeClient(
            { baseUrl: `https://127.0.0.1:${port}/Api` },
            { connectTimeoutMs: 150, responseTimeoutMs: 5_000, maxRetries: 0 },
          ).verifyToken('token-abc-123'),
          'TRANSIENT',
          /connect timeout/,
        );
        assert.ok(Date.now() - started < 2_000, 'the connect timeout fired, not the response timeout');
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it('PROTOCOL naming the field when the envelope shape changes, not retried', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({
        endpoint: 'envelope.get',
        fault: {
          kind: 'mutateJson',
          mutate: (body) => {
            const { EnvelopeStatus, ...rest } = body as Record<string, unknown>;
            return { ...rest, State: EnvelopeStatus };
          },
        },
      });
      await rejectsWithPlatformError(
        client().getEnvelope(token, envelope.id),
        'PROTOCOL',
        /GET \/v6\/envelope\/.*EnvelopeStatus/,
      );
      assert.equal(sim.requests({ endpoint: 'envelope.get' }).length, 1);
    });

    it(
      'reads a files answer without Documents as no documents (the pipeline refuses that for a completed envelope)',
      T,
      async () => {
        const { userId, token } = sender();
        const envelope = completedEnvelope(userId);
        sim.addFault({
          endpoint: 'envelope.files',
          times: 1,
          fault: {
            kind: 'mutateJson',
            mutate: (body) => {
              const { Documents: _documents, ...rest } = body as Record<string, unknown>;
              return rest;
            },
          },
        });
        const files = await client().listFiles(token, envelope.id);
        assert.deepEqual(files.documents, []);
        assert.ok(files.auditTrail.fileId, 'the rest of the answer is still read');
      },
    );

    it(
      'FORBIDDEN for 403, ERR0010 and ERR0014 (the token works, this envelope is not allowed); UNSUPPORTED for ERR0063',
      T,
      async () => {
        const { userId, token } = sender();
        const envelope = completedEnvelope(userId);
        const c = client({ maxRetries: 0 });
        const answers: [number, string | undefined, PlatformErrorCode][] = [
          [403, undefined, 'FORBIDDEN'],
          [403, 'ERR0010', 'FORBIDDEN'],
          [400, 'ERR0010', 'FORBIDDEN'],
          [403, 'ERR0014', 'FORBIDDEN'],
          [400, 'ERR0063', 'UNSUPPORTED'],
          [401, 'ERR0010', 'UNAUTHORIZED'],
        ];
        for (const [status, errorId, code] of answers) {
          sim.addFault({
            endpoint: 'envelope.get',
            times: 1,
            fault: {
              kind: 'status',
              status,
              ...(errorId && { body: { ErrorId: errorId, Message: `${errorId} - refused`, TraceId: 't' } }),
            },
          });
          const error = await rejectsWithPlatformError(c.getEnvelope(token, envelope.id), code);
          assert.equal(error.status, status, `${status} ${errorId}`);
        }
      },
    );

    it(
      'PROTOCOL for a status that is not text, a file id outside the allowlist, and a foreign envelope id',
      T,
      async () => {
        const { userId, token } = sender();
        const envelope = completedEnvelope(userId);
        sim.addFault({
          endpoint: 'envelope.get',
          times: 1,
          fault: { kind: 'mutateJson', mutate: (b) => ({ ...(b as object), EnvelopeStatus: 17 }) },
        });
        await rejectsWithPlatformError(
          client().getEnvelope(token, envelope.id),
          'PROTOCOL',
          /EnvelopeStatus/,
        );
        sim.addFault({
          endpoint: 'envelope.files',
          times: 1,
          fault: {
            kind: 'replaceJson',
            body: {
              Documents: [{ FileId: '../../admin', FileName: 'x.pdf' }],
              AuditTrail: null,
              LegalDocuments: [],
            },
          },
        });
        await rejectsWithPlatformError(
          client().listFiles(token, envelope.id),
          'PROTOCOL',
          /Documents\.0\.FileId/,
        );
        sim.addFault({
          endpoint: 'envelope.get',
          times: 1,
          fault: {
            kind: 'mutateJson',
            mutate: (b) => ({ ...(b as object), Id: '00000000-0000-0000-0000-000000000001' }),
          },
        });
        await rejectsWithPlatformError(
          client().getEnvelope(token, envelope.id),
          'PROTOCOL',
          /another envelope/,
        );
      },
    );

    it('PROTOCOL for a body that is not JSON, an HTML answer and an unexpected status', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'invalidJson' } });
      await rejectsWithPlatformError(client().getEnvelope(token, envelope.id), 'PROTOCOL', /not valid JSON/);
      sim.addFault({
        endpoint: 'envelope.get',
        times: 1,
        fault: { kind: 'status', status: 200, headers: { 'Content-Type': 'text/html' }, body: { Id: 'x' } },
      });
      await rejectsWithPlatformError(client().getEnvelope(token, envelope.id), 'PROTOCOL', /expected JSON/);
      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'status', status: 418 } });
      const teapot = await rejectsWithPlatformError(
        client().getEnvelope(token, envelope.id),
        'PROTOCOL',
        /HTTP 418/,
      );
      assert.equal(teapot.status, 418);
      assert.equal(sim.requests({ endpoint: 'envelope.get' }).length, 3);
    });

    it('refuses redirects, wherever they point, and does not follow them', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      const receiver = await startReceiver();
      try {
        sim.addFault({
          endpoint: 'file.get',
          fault: { kind: 'redirect', location: `${receiver.url}/stolen` },
        });
        await rejectsWithPlatformError(
          client().openFile(token, envelope.documents[0].fileId),
          'PROTOCOL',
          /redirect/,
        );
        assert.equal(receiver.hits.length, 0);
        assert.equal(sim.requests({ endpoint: 'file.get' }).length, 1);
      } finally {
        await receiver.close();
      }
    });

    it('never puts the token into an error message, even when the platform echoes it', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({
        endpoint: 'envelope.get',
        fault: {
          kind: 'status',
          status: 400,
          body: { ErrorId: 'ERR0011', Message: `Invalid header ApiToken=${token}` },
        },
      });
      const error = await rejectsWithPlatformError(client().getEnvelope(token, envelope.id), 'PROTOCOL');
      assert.ok(!error.message.includes(token));
      assert.match(error.message, /\[redacted\]/);
      assert.ok(!JSON.stringify(error, Object.getOwnPropertyNames(error)).includes(token));
    });
  });

  describe('retry policy', () => {
    it('deleteEnvelope is not retried on a 5xx or a reset', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.delete', times: 1, fault: { kind: 'status', status: 503 } });
      await rejectsWithPlatformError(
        client({ maxRetries: 3 }).deleteEnvelope(token, envelope.id),
        'TRANSIENT',
      );
      sim.addFault({ endpoint: 'envelope.delete', times: 1, fault: { kind: 'reset' } });
      await rejectsWithPlatformError(
        client({ maxRetries: 3 }).deleteEnvelope(token, envelope.id),
        'TRANSIENT',
      );
      assert.equal(sim.requests({ endpoint: 'envelope.delete' }).length, 2);
      assert.equal(sim.getEnvelope(envelope.id)?.deleted, false);
    });

    it('sendDraft is not retried (it would send twice)', T, async () => {
      const owner = sender();
      const draft = sim.createDraft({ ownerUserId: owner.userId });
      sim.addFault({ endpoint: 'draft.send', times: 1, fault: { kind: 'status', status: 500 } });
      await rejectsWithPlatformError(client({ maxRetries: 3 }).sendDraft(owner.token, draft.id), 'TRANSIENT');
      assert.equal(sim.requests({ endpoint: 'draft.send' }).length, 1);
    });

    it('an abort signal ends a pending retry wait at once', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      sim.addFault({ endpoint: 'envelope.get', fault: { kind: 'status', status: 503 } });
      const controller = new AbortController();
      const started = Date.now();
      const call = client({ retryBaseDelayMs: 10_000, retryMaxDelayMs: 10_000 }).getEnvelope(
        token,
        envelope.id,
        {
          signal: controller.signal,
        },
      );
      setTimeout(() => controller.abort(new Error('shutting down')), 100);
      await assert.rejects(call, /shutting down/);
      assert.ok(Date.now() - started < 2_000);
      assert.equal(sim.requests({ endpoint: 'envelope.get' }).length, 1);
    });

    it('ids and tokens are validated before anything is sent', T, async () => {
      const { userId, token } = sender();
      completedEnvelope(userId);
      const c = client();
      const badIds = [
        '',
        '../../v6/envelope/delete',
        'not-a-guid',
        '00000000-0000-0000-0000-00000000000Z',
        'https://evil.example/x',
      ];
      for (const id of badIds) {
        await rejectsWithPlatformError(c.getEnvelope(token, id), 'PROTOCOL', /invalid envelope id/);
        await rejectsWithPlatformError(c.getConfiguration(token, id), 'PROTOCOL');
        await rejectsWithPlatformError(c.listFiles(token, id), 'PROTOCOL');
        await rejectsWithPlatformError(c.deleteEnvelope(token, id), 'PROTOCOL');
        await rejectsWithPlatformError(c.sendDraft(token, id), 'PROTOCOL', /invalid draft id/);
      }
      for (const id of [
        '',
        'a/b',
        '..',
        'x'.repeat(129),
        'id with space',
        'http://evil.example/f',
        '%2e%2e',
      ]) {
        await rejectsWithPlatformError(c.openFile(token, id), 'PROTOCOL', /invalid file id/);
      }
      for (const bad of ['', 'tok\r\nX-Injected: 1', 'tok en', 'tök']) {
        await rejectsWithPlatformError(
          c.getEnvelope(bad, '00000000-0000-0000-0000-000000000000'),
          'UNAUTHORIZED',
        );
        await rejectsWithPlatformError(c.openFile(bad, 'abc'), 'UNAUTHORIZED');
      }
      await rejectsWithPlatformError(c.findEnvelopes(token, { startDate: new Date('nope') }), 'PROTOCOL');
      assert.deepEqual(sim.requests(), [], 'nothing reached the platform');
    });
  });

  describe('openFile streaming failures', () => {
    function fileOf(userId: string, size = 2_000_000): string {
      return completedEnvelope(userId, { documents: [{ size }] }).documents[0].fileId;
    }

    it(
      'a reset mid-body is a TRANSIENT stream error, and the download is not silently retried',
      T,
      async () => {
        const { userId, token } = sender();
        const fileId = fileOf(userId);
        sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'reset', afterBytes: 300_000 } });
        const download = await client().openFile(token, fileId);
        const error = await rejectsWithPlatformError(
          sha256Of(download.stream),
          'TRANSIENT',
          /connection lost after \d+ bytes/,
        );
        assert.ok(error.message.length > 0);
        assert.equal(sim.requests({ endpoint: 'file.get' }).length, 1);
      },
    );

    it('a body shorter than its Content-Length is a TRANSIENT stream error', T, async () => {
      const { userId, token } = sender();
      const fileId = fileOf(userId);
      sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'truncate', afterBytes: 500_000 } });
      const download = await client().openFile(token, fileId);
      assert.equal(download.contentLength, 2_000_000);
      await rejectsWithPlatformError(
        sha256Of(download.stream),
        'TRANSIENT',
        /(ended after|connection lost after) \d+/,
      );
      const [request] = sim.requests({ endpoint: 'file.get' });
      assert.equal(request.outcome, 'truncated');
      assert.equal(request.bytesSent, 500_000);
    });

    it('a stalled body fails after the idle timeout with TRANSIENT', T, async () => {
      const { userId, token } = sender();
      const fileId = fileOf(userId);
      sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'stall', afterBytes: 100_000 } });
      const started = Date.now();
      const download = await client({ idleTimeoutMs: 300 }).openFile(token, fileId);
      await rejectsWithPlatformError(sha256Of(download.stream), 'TRANSIENT', /no data for 300 ms/);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 3_000, `elapsed ${elapsed}`);
    });

    it('a trickle slower than the idle timeout fails with TRANSIENT', T, async () => {
      const { userId, token } = sender();
      const fileId = fileOf(userId, 10_000);
      // 10 bytes per second arrive as 1 byte every 100 ms: each gap is longer than the 60 ms idle limit.
      sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'trickle', bytesPerSecond: 10 } });
      const download = await client({ idleTimeoutMs: 60 }).openFile(token, fileId);
      await rejectsWithPlatformError(sha256Of(download.stream), 'TRANSIENT', /no data for 60 ms/);
    });

    it('a slow consumer is not mistaken for an idle server', T, async () => {
      const { userId, token } = sender();
      const fileId = fileOf(userId, 4_000_000);
      const download = await client({ idleTimeoutMs: 200 }).openFile(token, fileId);
      const hash = createHash('sha256');
      let chunks = 0;
      await pipeline(
        download.stream,
        new Writable({
          highWaterMark: 16 * 1024,
          write(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            // Hold the pipe for longer than the idle timeout now and then (an S3 part upload).
            if (++chunks % 20 === 1) setTimeout(callback, 350);
            else callback();
          },
        }),
      );
      assert.equal(hash.digest('hex'), (await sim.expectedFile(fileId)).sha256);
    });

    it(
      'a corrupt PDF is delivered as served: the bytes lack %PDF- and %%EOF and do not match the expected hash',
      T,
      async () => {
        const { userId, token } = sender();
        const fileId = fileOf(userId, 50_000);
        sim.addFault({ endpoint: 'file.get', fileId, times: 1, fault: { kind: 'corruptPdf' } });
        const got = await sha256Of((await client().openFile(token, fileId)).stream);
        const expected = await sim.expectedFile(fileId);
        assert.equal(got.size, expected.size);
        assert.notEqual(got.sha256, expected.sha256);
        assert.notEqual(got.head.subarray(0, 5).toString('latin1'), '%PDF-');
        assert.doesNotMatch(got.tail.toString('latin1'), /%%EOF/);
      },
    );

    it('a file without Content-Length (chunked) still streams whole', T, async () => {
      const { userId, token } = sender();
      const fileId = fileOf(userId, 300_000);
      sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'omitContentLength' } });
      const download = await client().openFile(token, fileId);
      assert.equal(download.contentLength, undefined);
      assert.equal((await sha256Of(download.stream)).sha256, (await sim.expectedFile(fileId)).sha256);
    });

    it('openFile retries a 503 before the body starts', T, async () => {
      const { userId, token } = sender();
      const fileId = fileOf(userId, 100_000);
      sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'status', status: 503 } });
      const download = await client().openFile(token, fileId);
      assert.equal((await sha256Of(download.stream)).sha256, (await sim.expectedFile(fileId)).sha256);
      assert.deepEqual(
        sim.requests({ endpoint: 'file.get' }).map((r) => r.status),
        [503, 200],
      );
    });
  });

  describe('OAuth code grant', () => {
    const oauthClient = (): EsignAnywhereClient =>
      client({ oauth: { clientId: OAUTH_CLIENT_ID, clientSecret: OAUTH_CLIENT_SECRET } });

    async function authorize(
      c: EsignAnywhereClient,
      userId: string,
      verifier: string,
      state = 'state-0123456789abcdef',
    ): Promise<URL> {
      sim.setOAuthDecision({ decision: 'approve', userId });
      const url = c.buildAuthorizeUrl({
        redirectUri: REDIRECT_URI,
        state,
        codeChallenge: pkceChallengeS256(verifier),
      });
      const response = await fetch(url, { redirect: 'manual' });
      assert.equal(response.status, 302);
      return new URL(response.headers.get('location') as string);
    }

    it(
      'buildAuthorizeUrl points at <instance>/Auth/Authorize with the code grant and S256 parameters',
      T,
      () => {
        const url = new URL(
          oauthClient().buildAuthorizeUrl({
            redirectUri: REDIRECT_URI,
            state: 'state-0123456789abcdef',
            codeChallenge: pkceChallengeS256(createPkceVerifier()),
          }),
        );
        assert.equal(`${url.origin}${url.pathname}`, sim.authorizeUrl);
        assert.equal(url.searchParams.get('response_type'), 'code');
        assert.equal(url.searchParams.get('client_id'), OAUTH_CLIENT_ID);
        assert.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI);
        assert.equal(url.searchParams.get('state'), 'state-0123456789abcdef');
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
        assert.ok(!url.href.includes(OAUTH_CLIENT_SECRET));
      },
    );

    it('exchanges a code once for the user API token; the code cannot be used again', T, async () => {
      const { userId } = sender();
      const envelope = completedEnvelope(userId);
      const c = oauthClient();
      const verifier = createPkceVerifier();
      const back = await authorize(c, userId, verifier);
      assert.equal(back.searchParams.get('state'), 'state-0123456789abcdef');
      const code = back.searchParams.get('code') as string;

      const grant = await c.exchangeCode({ code, redirectUri: REDIRECT_URI, codeVerifier: verifier });
      await c.verifyToken(grant.accessToken);
      assert.equal((await c.getEnvelope(grant.accessToken, envelope.id)).id, envelope.id);

      const reused = await rejectsWithPlatformError(
        c.exchangeCode({ code, redirectUri: REDIRECT_URI, codeVerifier: verifier }),
        'UNAUTHORIZED',
        /invalid_grant/,
      );
      assert.ok(!reused.message.includes(code) && !reused.message.includes(OAUTH_CLIENT_SECRET));
      const tokenCalls = sim.requests({ endpoint: 'oauth.token' });
      assert.equal(tokenCalls.length, 2);
      assert.ok(!JSON.stringify(sim.requests()).includes(code), 'the code is not in the request log');
    });

    it(
      'a wrong client secret is refused (PROTOCOL: a configuration problem) and never echoed',
      T,
      async () => {
        const { userId } = sender();
        const verifier = createPkceVerifier();
        const code = (await authorize(oauthClient(), userId, verifier)).searchParams.get('code') as string;
        const wrong = client({
          oauth: { clientId: OAUTH_CLIENT_ID, clientSecret: 'wrong-secret-value-999' },
        });
        const error = await rejectsWithPlatformError(
          wrong.exchangeCode({ code, redirectUri: REDIRECT_URI, codeVerifier: verifier }),
          'PROTOCOL',
          /invalid_client/,
        );
        assert.equal(error.status, 401);
        assert.ok(!error.message.includes('wrong-secret-value-999'));
      },
    );

    it('a wrong code verifier or redirect_uri is invalid_grant (UNAUTHORIZED)', T, async () => {
      const { userId } = sender();
      const c = oauthClient();
      const verifier = createPkceVerifier();
      const first = (await authorize(c, userId, verifier)).searchParams.get('code') as string;
      await rejectsWithPlatformError(
        c.exchangeCode({ code: first, redirectUri: REDIRECT_URI, codeVerifier: createPkceVerifier() }),
        'UNAUTHORIZED',
        /invalid_grant/,
      );
      const second = (await authorize(c, userId, verifier)).searchParams.get('code') as string;
      await rejectsWithPlatformError(
        c.exchangeCode({ code: second, redirectUri: 'http://127.0.0.1:9/other', codeVerifier: verifier }),
        'UNAUTHORIZED',
        /invalid_grant/,
      );
    });

    it('a denied consent comes back as error=access_denied with the state', T, async () => {
      sim.setOAuthDecision({ decision: 'deny' });
      const url = oauthClient().buildAuthorizeUrl({
        redirectUri: REDIRECT_URI,
        state: 'state-deny-0123456789',
        codeChallenge: pkceChallengeS256(createPkceVerifier()),
      });
      const response = await fetch(url, { redirect: 'manual' });
      const back = new URL(response.headers.get('location') as string);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'state-deny-0123456789');
      assert.equal(back.searchParams.get('code'), null);
    });
  });

  describe('configuration', () => {
    it('builds a client from the validated eSignAnyWhere section', T, async () => {
      const { userId, token } = sender();
      const envelope = completedEnvelope(userId);
      const section = esignAnywhereConfig.parse({
        CALLBACK_AUTH: 'none',
        ESAW_BASE_URL: sim.baseUrl,
        ESAW_AUTH_HEADER: 'Bearer',
        ESAW_MAX_RETRIES: '0',
      });
      assert.deepEqual(section.problems, []);
      const client = new EsignAnywhereClient(esignAnywhereClientOptions(section.value!));
      try {
        assert.equal((await client.getEnvelope(token, envelope.id)).id, envelope.id);
        const seen = sim.requests({ endpoint: 'envelope.get' });
        assert.equal(seen[seen.length - 1].userId, userId);
      } finally {
        client.close();
      }
    });
  });
});

describe('streaming 1 GB from the simulator running as its own process', () => {
  it(
    'openFile streams 1 GiB into sha256 with bounded memory and the expected hash',
    { timeout: 120_000 },
    async (t) => {
      const simulator = await startSimulatorProcess();
      const c = makeClient(simulator, { idleTimeoutMs: 10_000, responseTimeoutMs: 10_000 });
      try {
        const size = 1024 * 1024 * 1024;
        const envelope = await simulator.control<{ id: string; documents: { fileId: string }[] }>(
          'POST',
          '/envelopes',
          {
            senderUserId: simulator.user.id,
            status: 'Completed',
            documents: [{ fileName: 'Huge.pdf', size }],
          },
        );
        const fileId = envelope.documents[0].fileId;

        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().rss);
        }, 20);
        let got: Awaited<ReturnType<typeof sha256Of>>;
        try {
          const download = await c.openFile(simulator.token, fileId);
          assert.equal(download.contentLength, size);
          got = await sha256Of(download.stream);
        } finally {
          clearInterval(sampler);
        }
        peak = Math.max(peak, process.memoryUsage().rss);

        const expected = await simulator.control<{ sha256: string; size: number }>(
          'GET',
          `/files/${fileId}/expected`,
        );
        assert.equal(got.size, size);
        assert.equal(got.sha256, expected.sha256);
        assert.equal(expected.size, size);
        const growth = peak - baseline;
        t.diagnostic(`rss grew by ${(growth / 1024 / 1024).toFixed(1)} MiB while streaming 1 GiB`);
        assert.ok(growth < 100 * 1024 * 1024, `rss grew by ${Math.round(growth / 1024 / 1024)} MiB`);
        const log = await simulator.control<{ endpoint: string; bytesSent: number }[]>(
          'GET',
          '/requests?endpoint=file.get',
        );
        assert.equal(log.length, 1);
        assert.equal(log[0].bytesSent, size);
      } finally {
        c.close();
        await simulator.stop();
      }
    },
  );
});
