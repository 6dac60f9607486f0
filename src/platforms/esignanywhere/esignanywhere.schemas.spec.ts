import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseContentDispositionFileName } from './esignanywhere.client';
import { createPkceVerifier, pkceChallengeS256 } from './esignanywhere.pkce';
import {
  describeSchemaError,
  configurationResponseSchema,
  envelopeResponseSchema,
  filesResponseSchema,
  findResponseSchema,
} from './esignanywhere.schemas';

const ID = '6a1b3c4d-0000-4000-8000-00000000abcd';

describe('eSignAnyWhere response schemas', () => {
  it('read an envelope with .NET nulls and unknown extra fields', () => {
    const parsed = envelopeResponseSchema.parse({
      Id: ID,
      EnvelopeStatus: 'Completed',
      Name: null,
      SentDate: null,
      EnvelopeBulkParentId: null,
      Activities: null,
      SenderUserInformation: { Email: 'a@example.test', GivenName: null, Surname: 'S' },
      SomethingNew: { Nested: true },
    });
    assert.deepEqual(parsed, {
      id: ID,
      status: 'Completed',
      name: '',
      sender: { email: 'a@example.test', surname: 'S' },
      activities: [],
    });
  });

  it('read an envelope without sender information, and refuse one without a status, naming it', () => {
    const bare = envelopeResponseSchema.parse({ Id: ID, EnvelopeStatus: 'Completed', Name: 'x' });
    assert.deepEqual(bare.sender, {});
    assert.deepEqual(
      envelopeResponseSchema.parse({ Id: ID, EnvelopeStatus: 'Completed', SenderUserInformation: {} }).sender,
      {},
    );
    const result = envelopeResponseSchema.safeParse({ Id: ID, Name: 'x', SenderUserInformation: {} });
    assert.equal(result.success, false);
    assert.match(describeSchemaError(result.error), /EnvelopeStatus/);
  });

  it('pass a status it does not know through as given', () => {
    assert.equal(envelopeResponseSchema.parse({ Id: ID, EnvelopeStatus: 'Archived' }).status, 'Archived');
    assert.equal(envelopeResponseSchema.safeParse({ Id: ID, EnvelopeStatus: 'x'.repeat(65) }).success, false);
  });

  it('read absent or null Documents, audit trail and legal documents as none', () => {
    const none = { documents: [], auditTrail: {}, legalDocuments: [] };
    assert.deepEqual(
      filesResponseSchema.parse({ Documents: [], AuditTrail: null, LegalDocuments: null }),
      none,
    );
    assert.deepEqual(filesResponseSchema.parse({ AuditTrail: null, LegalDocuments: [] }), none);
    assert.deepEqual(filesResponseSchema.parse({ Documents: null }), none);
    // What is there is still checked.
    assert.equal(filesResponseSchema.safeParse({ Documents: [{ FileId: '../x' }] }).success, false);
  });

  it('read MetaData and Envelopes when absent', () => {
    assert.deepEqual(configurationResponseSchema.parse({}), { metaData: null });
    assert.deepEqual(findResponseSchema.parse({ Envelopes: null }), []);
    assert.deepEqual(findResponseSchema.parse({}), []);
    const odd = findResponseSchema.parse({ Envelopes: [{ Id: ID, Status: 'Draft', Name: 'x' }] });
    assert.equal(odd[0].status, 'Draft');
  });
});

describe('parseContentDispositionFileName', () => {
  it('prefers filename* (RFC 8187) and unquotes filename', () => {
    assert.equal(
      parseContentDispositionFileName(
        `attachment; filename="Offer _.pdf"; filename*=UTF-8''Offer%20%E2%82%AC.pdf`,
      ),
      'Offer €.pdf',
    );
    assert.equal(parseContentDispositionFileName('attachment; filename="a \\"b\\".pdf"'), 'a "b".pdf');
    assert.equal(parseContentDispositionFileName('attachment; filename=plain.pdf'), 'plain.pdf');
    assert.equal(
      parseContentDispositionFileName("attachment; filename*=iso-8859-1''M%FCller.pdf"),
      'Müller.pdf',
    );
    assert.equal(parseContentDispositionFileName('attachment'), undefined);
    assert.equal(parseContentDispositionFileName(undefined), undefined);
  });
});

describe('PKCE', () => {
  it('derives the RFC 7636 S256 challenge', () => {
    // The example from RFC 7636 appendix B.
    assert.equal(
      pkceChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    assert.match(createPkceVerifier(), /^[A-Za-z0-9_-]{43}$/);
    assert.throws(() => pkceChallengeS256('short'), RangeError);
  });
});
