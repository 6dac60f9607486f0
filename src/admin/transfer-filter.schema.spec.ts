import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bulkRetryBodySchema, dismissBodySchema, transferListQuerySchema } from './transfer-filter.schema';
import { transferFilterConditions } from './transfer-filter.sql';

describe('transfer filter parsing', () => {
  it('reads repeated and comma-separated lists, maps the cause none to "no cause", keeps the search text', () => {
    const parsed = transferListQuerySchema.parse({
      state: ['failed', 'retrying,waiting'],
      cause: 'corrupt_pdf,none',
      q: 'ABCDEF',
      limit: '20',
    });
    assert.deepEqual(parsed.filter.states, ['failed', 'retrying', 'waiting']);
    assert.deepEqual(parsed.filter.causes, ['corrupt_pdf', null]);
    assert.equal(parsed.filter.search, 'ABCDEF');
    assert.equal(parsed.limit, 20);
    assert.equal(parsed.filter.dateField, 'created');
  });

  it('defaults the page size to 50 and the bulk limit to 100', () => {
    assert.equal(transferListQuerySchema.parse({}).limit, 50);
    assert.equal(bulkRetryBodySchema.parse({ state: 'failed' }).limit, 100);
  });

  it('lets a bulk retry name dismissed transfers but not done ones, and requires a state or a cause', () => {
    assert.deepEqual(bulkRetryBodySchema.parse({ state: ['dismissed'] }).filter.states, ['dismissed']);
    assert.equal(bulkRetryBodySchema.safeParse({ state: ['done'] }).success, false);
    assert.equal(bulkRetryBodySchema.safeParse({ cause: 'no_token' }).success, true);
    assert.equal(bulkRetryBodySchema.safeParse({ sender: 'a@b.c' }).success, false);
  });

  it('trims the dismiss reason before checking its length', () => {
    assert.equal(dismissBodySchema.parse({ reason: '  ok then  ' }).reason, 'ok then');
    assert.equal(dismissBodySchema.safeParse({ reason: '  ab  ' }).success, false);
  });

  it('refuses control characters in a dismiss reason and a sender, but keeps newlines in a reason', () => {
    assert.equal(dismissBodySchema.safeParse({ reason: 'dup\u0000licate' }).success, false);
    assert.equal(dismissBodySchema.safeParse({ reason: 'dup\u001blicate' }).success, false);
    assert.equal(dismissBodySchema.parse({ reason: 'line one\nline two' }).reason, 'line one\nline two');
    assert.equal(transferListQuerySchema.safeParse({ sender: 'a\u0000@example.com' }).success, false);
    assert.equal(
      bulkRetryBodySchema.safeParse({ state: 'failed', sender: 'a@ex\u0085ample.com' }).success,
      false,
    );
  });

  it('takes as search 3 to 200 characters: the start of an envelope id, or part of other text', () => {
    const search = (q: string) => transferListQuerySchema.parse({ q }).filter.search;
    assert.equal(search('abc'), 'abc');
    assert.equal(search('  Vertrag  '), 'Vertrag');
    assert.equal(search('Mu\u0308ller'), 'M\u00fcller', 'NFC, as names are stored');
    assert.equal(search('x'.repeat(200)), 'x'.repeat(200));
    assert.equal(search('wVdZEaPD2igwUnFGJBjDD0dpO7k='), 'wVdZEaPD2igwUnFGJBjDD0dpO7k=');
    for (const q of ['zz', 'a', '  zz ', '', 'x'.repeat(201), 'ab\u0000c', 'tab\there']) {
      const result = transferListQuerySchema.safeParse({ q });
      assert.equal(result.success, false, JSON.stringify(q));
      assert.equal(result.error?.issues.length, 1, JSON.stringify(q));
    }
  });

  it('takes a page size in plain digits only', () => {
    assert.equal(transferListQuerySchema.parse({ limit: '007' }).limit, 7);
    for (const limit of ['0x10', '1e2', '+5', ' 5', '5 ', '1.0', '-1', '', 'Infinity']) {
      assert.equal(transferListQuerySchema.safeParse({ limit }).success, false, limit);
    }
  });

  it('says a single-valued parameter was given more than once', () => {
    for (const name of ['sender', 'platform', 'dateField', 'from', 'to', 'q', 'limit', 'cursor']) {
      const result = transferListQuerySchema.safeParse({ [name]: ['a', 'b'] });
      assert.equal(result.success, false);
      assert.deepEqual(
        result.error?.issues.map((i) => [i.path[0], i.message]),
        [[name, 'is given more than once']],
        name,
      );
    }
  });
});

describe('transfer filter SQL', () => {
  it('puts every value in a parameter, after the ones already there', () => {
    const params: unknown[] = ['earlier'];
    const { filter } = transferListQuerySchema.parse({
      state: 'failed',
      cause: 'none',
      sender: "o'brien@example.com",
      platform: 'esignanywhere',
      from: '2025-01-01',
      dateField: 'updated',
      q: 'ABC',
    });
    const conditions = transferFilterConditions(filter, params);
    assert.deepEqual(conditions, [
      't.state = ANY($2::text[])',
      '(t.cause IS NULL)',
      'lower(t.sender_email) = lower($3)',
      't.platform = $4',
      't.updated_at >= $5::timestamptz',
      "(t.envelope_id ILIKE $7 ESCAPE '\\' OR t.envelope_name ILIKE $6 ESCAPE '\\' OR t.sender_email ILIKE $6 ESCAPE '\\')",
    ]);
    assert.deepEqual(params, [
      'earlier',
      ['failed'],
      "o'brien@example.com",
      'esignanywhere',
      new Date('2025-01-01T00:00:00Z'),
      '%ABC%',
      'ABC%',
    ]);
  });

  it('searches the start of ids (in any case) and within names and addresses, wildcards taken literally', () => {
    const conditionsFor = (q: string) => {
      const params: unknown[] = [];
      const { filter } = transferListQuerySchema.parse({ q });
      return { conditions: transferFilterConditions(filter, params), params };
    };
    assert.deepEqual(conditionsFor('50%_off\\'), {
      conditions: [
        "(t.envelope_id ILIKE $2 ESCAPE '\\' OR t.envelope_name ILIKE $1 ESCAPE '\\' OR t.sender_email ILIKE $1 ESCAPE '\\')",
      ],
      params: ['%50\\%\\_off\\\\%', '50\\%\\_off\\\\%'],
    });
    // Text with a space is no id.
    assert.deepEqual(conditionsFor('Vertrag 2024'), {
      conditions: ["(t.envelope_name ILIKE $1 ESCAPE '\\' OR t.sender_email ILIKE $1 ESCAPE '\\')"],
      params: ['%Vertrag 2024%'],
    });
  });
});
