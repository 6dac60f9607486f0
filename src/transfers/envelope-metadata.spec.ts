import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_METADATA_DEPTH, metadataTags, parseEnvelopeMetadata } from './envelope-metadata';

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

  it('refuses metadata nested too deep, with too many elements, or with prototype names, without throwing', () => {
    const deep = `<Dms>${'<a>'.repeat(MAX_METADATA_DEPTH + 5)}x${'</a>'.repeat(MAX_METADATA_DEPTH + 5)}</Dms>`;
    assert.match(parseEnvelopeMetadata(deep).problem ?? '', /nested deeper/);
    assert.match(parseEnvelopeMetadata(`<Dms>${'<a/>'.repeat(20_000)}</Dms>`).problem ?? '', /elements/);
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const parsed = parseEnvelopeMetadata(`<Dms><${name}><x>1</x></${name}></Dms>`);
      assert.match(parsed.problem ?? '', new RegExp(name));
      assert.deepEqual(parsed.fields, {});
    }
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
