import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callbackAction,
  callbackStyle,
  parseBatchData,
  parseRealtime,
  parseSigned,
} from './legalesign-callback.parser';

const ID = '0b9a7e3c-5f2d-4c1b-9e8a-7d6c5b4a3f21';
const OTHER = '1c0b8f4d-6a3e-4d2c-8f9b-8e7d6c5b4a30';

describe('Legalesign callbacks', () => {
  it('tells the three callbacks apart, and refuses bodies that are none of them', () => {
    assert.deepEqual(callbackStyle({ data: '[]', signed: 'c2ln' }), {
      style: 'batch',
      data: '[]',
      signature: 'c2ln',
    });
    assert.equal(
      (callbackStyle({ event: 'finalPdfCreated', data: { uuid: ID } }) as { style: string }).style,
      'realtime',
    );
    assert.equal((callbackStyle({ uuid: ID, name: 'x' }) as { style: string }).style, 'signed');
    assert.ok('error' in callbackStyle({ data: ['[]', '[]'], signed: 'x' }), 'a repeated field is refused');
    assert.ok('error' in callbackStyle({ data: '[]' }));
    assert.ok('error' in callbackStyle('text'));
    assert.ok('error' in callbackStyle({ hello: 'world' }));
    assert.equal(callbackAction({ data: '[]', signed: 'x' }), 'batch');
    assert.equal(
      callbackAction({ object: 'document', event: 'finalPdfCreated', data: {} }),
      'document.finalPdfCreated',
    );
    assert.equal(callbackAction({ hello: 1 }), undefined);
  });

  it('reads a batch: document status changes are noted; signer changes and malformed ones are counted, not noted', () => {
    const data = JSON.stringify([
      {
        timestamp: '2018-03-20T07:09:52',
        name: 'status',
        value: '40',
        resource_uri: `/api/v1/signer/${OTHER}/`,
      },
      {
        timestamp: '2018-03-20T07:09:52',
        name: 'status',
        value: '30',
        resource_uri: `/api/v1/document/${ID.toUpperCase()}/`,
      },
      {
        timestamp: '2018-03-20T07:09:53',
        name: 'status',
        value: 50,
        resource_uri: `/api/v1/document/${OTHER}/`,
      },
      { name: 'status', value: '20', resource_uri: '/api/v1/document/../../admin/' },
      { name: 'status', value: '99', resource_uri: `/api/v1/document/${OTHER}/` },
      'not an object',
    ]);
    const parsed = parseBatchData(data, 100);
    assert.ok(parsed.ok);
    assert.equal(parsed.changes, 6);
    assert.equal(parsed.ignored, 3);
    assert.deepEqual(
      parsed.notes.map((n) => [n.documentId, n.action, n.known, n.createsWork]),
      [
        [ID, 'status_30', true, true],
        [OTHER, 'status_50', true, true],
        [OTHER, 'status_99', false, false],
      ],
    );
    assert.equal(parsed.notes[0].timestamp, '2018-03-20T07:09:52');
  });

  it('refuses a batch that is not a JSON list, and one over the change limit', () => {
    assert.deepEqual(parseBatchData('{', 10), { ok: false, reason: 'data: is not JSON' });
    assert.deepEqual(parseBatchData('{"a":1}', 10), {
      ok: false,
      reason: 'data: must be a JSON list of changes',
    });
    const many = JSON.stringify(Array.from({ length: 11 }, () => ({})));
    assert.deepEqual(parseBatchData(many, 10), {
      ok: false,
      reason: 'data: more than 10 changes',
      tooLarge: true,
    });
  });

  it('reads realtime events with or without the document. prefix; an unknown event is acknowledged without work', () => {
    const plain = parseRealtime({ object: 'document', event: 'finalPdfCreated', data: { uuid: ID } });
    assert.ok(plain.ok);
    assert.deepEqual(plain.note, {
      documentId: ID,
      action: 'document.finalPdfCreated',
      known: true,
      createsWork: true,
    });
    const prefixed = parseRealtime({ event: 'document.rejected', data: { uuid: ID } });
    assert.ok(prefixed.ok && prefixed.note.createsWork);
    const recipient = parseRealtime({
      object: 'recipient',
      event: 'completed',
      data: { documentResourceUri: `/api/v1/document/${ID}/` },
    });
    assert.ok(recipient.ok);
    assert.deepEqual(
      [recipient.note.action, recipient.note.documentId, recipient.note.createsWork],
      ['recipient.completed', ID, false],
    );
    const unknown = parseRealtime({ event: 'template.created', data: {} });
    assert.ok(unknown.ok && !unknown.note.known);
    assert.deepEqual(parseRealtime({ event: 'finalPdfCreated', data: { uuid: 'x' } }), {
      ok: false,
      reason: 'data.uuid: must be a document UUID',
    });
    assert.equal(parseRealtime({ event: 'bad event!', data: {} }).ok, false);
  });

  it('reads the legacy signed form: the uuid and resource_uri must be one document UUID', () => {
    const ok = parseSigned({ uuid: ID, resource_uri: `/api/v1/document/${ID}/`, name: 'Contract' });
    assert.ok(ok.ok);
    assert.deepEqual(ok.note, { documentId: ID, action: 'signed', known: true, createsWork: true });
    assert.equal(parseSigned({ uuid: ID, resource_uri: `/api/v1/document/${OTHER}/` }).ok, false);
    assert.equal(parseSigned({ uuid: 'abc' }).ok, false);
    assert.equal(parseSigned({ resource_uri: '/api/v1/group/x/' }).ok, false);
    assert.equal(parseSigned({ uuid: ['a', 'b'] }).ok, false);
  });
});
