import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metadataTags, parseEnvelopeMetadata } from './envelope-metadata';

describe('envelope metadata', () => {
  it('flattens XML leaves by path below the root', () => {
    const parsed = parseEnvelopeMetadata(
      '<?xml version="1.0"?><Dms><Customer><Id>C-17</Id><Name>Ada &amp; Co</Name></Customer><Type>contract</Type><Tag>a</Tag><Tag>b</Tag></Dms>',
    );
    assert.deepEqual(parsed.fields, {
      'Customer/Id': 'C-17',
      'Customer/Name': 'Ada &amp; Co',
      Type: 'contract',
      'Tag[1]': 'a',
      'Tag[2]': 'b',
    });
  });

  it('refuses DOCTYPEs (entity expansion) and malformed XML without throwing', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>';
    assert.match(parseEnvelopeMetadata(bomb).problem ?? '', /DOCTYPE/);
    assert.match(parseEnvelopeMetadata('<a><b></a>').problem ?? '', /well-formed/);
    assert.match(parseEnvelopeMetadata('<a>' + 'x'.repeat(300 * 1024) + '</a>').problem ?? '', /larger/);
  });

  it('keeps non-XML metadata as one field', () => {
    assert.deepEqual(parseEnvelopeMetadata('order=17').fields, { MetaData: 'order=17' });
    assert.deepEqual(parseEnvelopeMetadata(null).fields, {});
  });

  it('maps fields to a bounded number of tags', () => {
    const fields = { 'Customer/Id': 'C-17', Type: 'contract', Empty: '', 'A/B': '1', 'C/D': '2' };
    assert.deepEqual(metadataTags(fields, { customer: 'Customer/Id', kind: 'Type', missing: 'Nope' }, 10), {
      customer: 'C-17',
      kind: 'contract',
    });
    assert.deepEqual(metadataTags(fields, undefined, 2), { Id: 'C-17', Type: 'contract' });
  });
});
