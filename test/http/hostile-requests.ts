import { ESAW_CALLBACK_ACTIONS } from '../../src/platforms/esignanywhere/esignanywhere-callback.parser';
import { TRANSFER_STATES } from '../../src/transfers/transfer-state';
import type { OutgoingRequest } from './raw-http';
import type { Rng } from './seeded-random';

/** What the answer to a generated request must look like. */
export type Expectation =
  /** A valid callback: 200 noted, and its row must appear. */
  | { kind: 'control'; envelope: string; action: string }
  /** A callback with at least one defect: never noted. */
  | { kind: 'hostile-callback' }
  /** An admin request without a valid token: refused before anything else. */
  | { kind: 'admin-refused'; statuses: number[] }
  /** An admin request with a valid token and a defect: 400 naming `field` (any field when absent). */
  | { kind: 'admin-invalid'; field?: string }
  /** An admin request that is valid but names no existing transfer, or the page/summary. */
  | { kind: 'admin-other'; statuses: number[] };

export interface HostileRequest extends OutgoingRequest {
  /** The family of the request, for the run's report. */
  family: string;
  expect: Expectation;
}

/** Spoofed addresses come from the documentation ranges, so finding one stored is unambiguous. */
export const SPOOF_PREFIXES = ['192.0.2.', '198.51.100.', '203.0.113.'];

type Params = [string, string][];
const query = (params: Params) => params.map(([k, v]) => `${k}=${v}`).join('&');
const ACTIONS = ESAW_CALLBACK_ACTIONS as readonly string[];
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const spoofedAddress = (r: Rng) => `${r.pick(SPOOF_PREFIXES)}${r.int(1, 254)}`;

/** Text that decodes to something odd: Unicode corners, controls, or no UTF-8 at all. */
function oddValue(r: Rng): string {
  switch (r.int(0, 5)) {
    case 0:
      return encodeURIComponent(r.unicode(r.int(1, 30)));
    case 1:
      return r.pick(['%', '%g0', '%ff', '%E2%82', '%C0%AF', '%ED%A0%80', 'a%', '%%%']);
    case 2:
      return `${r.string(r.int(0, 8))}%00${r.string(r.int(0, 8))}`;
    case 3:
      return r.string(r.int(200, 3000), ALNUM);
    case 4:
      return '';
    default:
      return encodeURIComponent(r.string(r.int(1, 20), ` !"#$&'()*+,/:;<=>?@[\\]^\`{|}~`));
  }
}

// ---------------------------------------------------------------------------------------------
// Callbacks

const ENVELOPE_DEFECTS: ((r: Rng, guid: string) => Params)[] = [
  () => [],
  () => [['envelope', '']],
  () => [['envelope', '%23%23EnvelopeId%23%23']],
  (_r, g) => [['envelope', g.slice(0, -1)]],
  (r, g) => [['envelope', g + r.hex(1)]],
  (r, g) => [['envelope', g.replace(/[0-9a-f]/, r.pick(['g', 'z', 'G', '_', '.']))]],
  (_r, g) => [['envelope', `%7B${g}%7D`]],
  (_r, g) => [['envelope', g.replace(/-/g, '')]],
  (r, g) => [['envelope', r.pick([`${g}%00`, `%00${g}`, `${g.slice(0, 8)}%00${g.slice(9)}`])]],
  (r) => [['envelope', encodeURIComponent(r.unicode(r.int(1, 40)))]],
  (_r, g) => [
    ['envelope', encodeURIComponent(g.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))))],
  ],
  (r) => [['envelope', 'a'.repeat(r.int(37, 6000))]],
  (r, g) => [['envelope', g.repeat(r.int(2, 50))]],
  (r, g) => [
    ['envelope', r.pick(['%', '%g0', '%ff', '%E2%82', `${g.slice(0, 10)}%${g.slice(10)}`, `${g}%C0%AF`])],
  ],
  (r, g) => [
    ['envelope', g],
    ['envelope', r.guid()],
  ],
  (_r, g) => [['envelope%5B%5D', g]],
  (_r, g) => [['envelope', `${g}+`]],
  (_r, g) => [['envelope', `%20${g}`]],
];

const ACTION_DEFECTS: ((r: Rng) => Params)[] = [
  () => [],
  () => [['action', '']],
  () => [['action', '%3Cscript%3Ealert(1)%3C%2Fscript%3E']],
  () => [['action', 'envelope%20Finished']],
  () => [['action', 'envelopeFinished%00']],
  (r) => [['action', encodeURIComponent(r.unicode(r.int(1, 20)))]],
  (r) => [['action', `a${r.string(r.int(64, 3000), 'abcXYZ')}`]],
  (r) => [
    ['action', r.pick(ACTIONS)],
    ['action', r.pick(ACTIONS)],
  ],
  (r) => [['action', r.pick(['%', '%ff', '%E2%82', 'envelope%zzFinished', 'envelopeFinished%'])]],
  // Well-formed but unknown: acknowledged as ignored, never noted.
  (r) => [
    ['action', r.pick(['ENVELOPEFINISHED', 'someFutureAction', 'envelopefinished', `x${r.string(10)}`])],
  ],
  (r) => [['action', `1${r.string(5)}`]],
  () => [['action%5B%5D', 'envelopeFinished']],
  (r) => [['action', oddValue(r)]],
];

const TOKEN_DEFECTS: ((r: Rng, token: string) => Params)[] = [
  () => [],
  () => [['token', '']],
  (r, t) => [['token', r.string(t.length)]],
  (_r, t) => [['token', t.slice(0, 10)]],
  (_r, t) => [['token', `${t}x`]],
  (_r, t) => [['token', t.toUpperCase()]],
  (r) => [['token', r.string(r.int(1000, 8000))]],
  (_r, t) => [
    ['token', t],
    ['token', t],
  ],
  (_r, t) => [['token', `${t}%00`]],
  (r, t) => [['token', r.pick(['%ff', '%', `${t}%E2%82`, `${t.slice(0, 5)}%ff${t.slice(5)}`])]],
  (_r, t) => [['Token', t]],
  (_r, t) => [['token', `${t}+`]],
  (r) => [['token', oddValue(r)]],
];

const WRONG_METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE', 'MKCOL'];

const PATH_DEFECTS: ((r: Rng) => string)[] = [
  (r) => `/callbacks/${r.string(r.int(1, 40), `${ALNUM}-_.~`).replace(/^esignanywhere$/, 'x')}`,
  (r) => `/callbacks/esignanywhere/${r.string(r.int(1, 20))}`,
  (r) =>
    r.pick([
      '/callbacks/ESIGNANYWHERE',
      '/callbacks/esignanywhere/',
      '/callbacks//esignanywhere',
      '/callbacks',
      '/callbacks/',
      '/callback/esignanywhere',
      '/CALLBACKS/esignanywhere',
      '/callbacks/esignanywhere%00',
      '/callbacks/esignanywhere%20',
      '/callbacks/esignanywhere%2F',
      '/callbacks/esignanywhere;jsessionid=1',
      '/callbacks/esignanywhere.json',
      '/callbacks/..%2Fadmin',
      '/callbacks/%2e%2e/metrics',
      '/callbacks/%ff',
      '/callbacks/%E2%82',
      '/callbacks/%',
    ]),
  (r) => `/callbacks/${'x'.repeat(r.int(100, 8000))}`,
  (r) => `/callbacks/${encodeURIComponent(r.unicode(r.int(1, 30)))}`,
];

const POST_BODIES: ((r: Rng) => [string | undefined, string | Buffer])[] = [
  () => ['application/json', '{'],
  () => ['application/json', '{"__proto__":{"polluted":1}}'],
  () => ['application/json', '{"constructor":{"prototype":{"polluted":1}}}'],
  () => ['application/json', 'null'],
  (r) => ['application/json', '['.repeat(r.int(100, 5000))],
  () => ['application/json; charset=utf-16', '{}'],
  () => ['application/xml', '<!DOCTYPE a [<!ENTITY b "bbbbbbbb">]><a>&b;&b;&b;</a>'],
  (r) => ['text/plain', r.unicode(r.int(1, 200))],
  () => ['application/x-www-form-urlencoded', 'envelope=x&action=y&token=z'],
  () => [
    'multipart/form-data; boundary=x',
    '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--',
  ],
  (r) => [
    'application/octet-stream',
    Buffer.from(Array.from({ length: r.int(1, 4000) }, () => r.int(0, 255))),
  ],
  (r) => ['application/octet-stream', Buffer.alloc(r.int(65 * 1024, 100 * 1024), 7)],
  () => ['text/html; charset=utf-7', '+ADw-script+AD4-'],
  () => ['garbage', 'x'],
  () => ['', 'x'],
  () => [';;;', 'x'],
  () => ['application/json ; ; charset="', '{}'],
  () => [undefined, 'no content type at all'],
];

function oddHeaders(r: Rng, headers: Record<string, string | string[]>): void {
  switch (r.int(0, 9)) {
    case 0:
      headers['x-forwarded-for'] = Array.from({ length: r.int(1, 5) }, () => spoofedAddress(r)).join(', ');
      break;
    case 1:
      headers['x-forwarded-for'] = [spoofedAddress(r), `${spoofedAddress(r)}, unknown, ::1`];
      break;
    case 2:
      headers['x-real-ip'] = spoofedAddress(r);
      headers.forwarded = `for=${spoofedAddress(r)};proto=https`;
      break;
    case 3:
      headers['x-forwarded-for'] = r.string(r.int(1, 300), `${ALNUM} ,.:[]%`);
      break;
    case 4:
      headers.authorization = r.pick([
        `Basic ${Buffer.from(`${r.string(5)}:${r.string(12)}`).toString('base64')}`,
        'Basic %%%',
        `Bearer ${r.string(r.int(1, 2000))}`,
        'Basic',
      ]);
      break;
    case 5:
      headers['user-agent'] = Buffer.from(
        Array.from({ length: r.int(1, 500) }, () => r.int(0x80, 0xff)),
      ).toString('latin1');
      break;
    case 6:
      headers.cookie = Array.from({ length: r.int(1, 50) }, () => `${r.string(5)}=${r.string(20)}`).join(
        '; ',
      );
      break;
    case 7:
      headers['x-request-id'] = r.string(r.int(300, 4000));
      break;
    case 8:
      headers['content-type'] = r.pick(['application/json', 'text/plain', 'x/y', '']);
      break;
    default:
      headers.host = r.pick(['evil.example', 'localhost:99999', '[::1]', 'a'.repeat(300), '']);
  }
}

/** A valid callback, with a spoofed X-Forwarded-For that must not be stored. */
export function controlCallback(r: Rng, token: string, envelope: string, action: string): HostileRequest {
  const post = r.chance(0.3);
  return {
    family: 'control callback',
    method: post ? 'POST' : 'GET',
    path: `/callbacks/esignanywhere?${query([
      ['envelope', r.chance(0.5) ? envelope : envelope.toUpperCase()],
      ['action', action],
      ['token', token],
      ['ref', `control-${r.string(6)}`],
    ])}`,
    headers: {
      'x-forwarded-for': `${spoofedAddress(r)}, ${spoofedAddress(r)}`,
      ...(post ? { 'content-type': 'application/xml' } : {}),
    },
    body: post ? '<callback/>' : undefined,
    expect: { kind: 'control', envelope, action },
  };
}

/** A callback with one or two defects (so it is never a valid callback) and some noise. */
export function hostileCallback(r: Rng, token: string): HostileRequest {
  const guid = r.guid();
  let envelope: Params = [['envelope', guid]];
  let action: Params = [['action', r.pick(ACTIONS)]];
  let tokenParams: Params = [['token', token]];
  let method = r.chance(0.7) ? 'GET' : 'POST';
  let path = '/callbacks/esignanywhere';
  const defects = new Set<string>();
  const count = r.chance(0.8) ? 1 : 2;
  while (defects.size < count) defects.add(r.pick(['envelope', 'action', 'token', 'method', 'path']));
  for (const defect of defects) {
    if (defect === 'envelope') envelope = r.pick(ENVELOPE_DEFECTS)(r, guid);
    if (defect === 'action') action = r.pick(ACTION_DEFECTS)(r);
    if (defect === 'token') tokenParams = r.pick(TOKEN_DEFECTS)(r, token);
    if (defect === 'method') method = r.pick(WRONG_METHODS);
    if (defect === 'path') path = r.pick(PATH_DEFECTS)(r);
  }
  let params: Params = [...envelope, ...action, ...tokenParams];
  const headers: Record<string, string | string[]> = {};
  let body: string | Buffer | undefined;
  const noise = r.int(0, 3);
  for (let i = 0; i < noise; i++) {
    switch (r.int(0, 5)) {
      case 0:
        params.push(
          ...Array.from({ length: r.int(1, 20) }, (): [string, string] => [
            r.string(r.int(1, 8)),
            oddValue(r),
          ]),
        );
        break;
      case 1:
        params.push(...Array.from({ length: r.int(100, 1500) }, (): [string, string] => ['p', r.string(2)]));
        break;
      case 2:
        params.push(['junk', r.string(r.int(1000, 20_000), ALNUM)]);
        break;
      case 3:
        params.push(['ref', '1'], ['ref', '2'], ['ref', oddValue(r)]);
        break;
      default:
        oddHeaders(r, headers);
    }
  }
  if (r.chance(0.2)) params = params.reverse();
  if (method === 'POST' || (method !== 'GET' && method !== 'HEAD' && r.chance(0.3))) {
    const [contentType, content] = r.pick(POST_BODIES)(r);
    if (contentType !== undefined) headers['content-type'] = contentType;
    body = content;
  }
  return {
    family: `callback: ${[...defects].sort().join('+')}`,
    method,
    path: `${path}?${query(params)}`,
    headers,
    body,
    expect: { kind: 'hostile-callback' },
  };
}

// ---------------------------------------------------------------------------------------------
// Admin

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

const VALID_PARAMS: Record<string, (r: Rng) => string> = {
  state: (r) => r.pick(TRANSFER_STATES),
  cause: (r) => r.pick(['corrupt_pdf', 'none', 'token_rejected']),
  sender: (r) => `${r.string(5)}%40example.com`,
  platform: () => 'esignanywhere',
  dateField: (r) => r.pick(['created', 'updated']),
  q: (r) => r.hex(r.int(3, 8)),
  limit: (r) => String(r.int(1, 200)),
};

const repeated = (name: string, values: string[]) => values.join(`&${name}=`);

/** Values each parameter must refuse (with the same name repeated where only one is allowed). */
const INVALID_PARAMS: Record<string, ((r: Rng) => string)[]> = {
  state: [
    (r) => r.string(r.int(1, 20), 'XYZ_'),
    () => '',
    () => '%2C%2C',
    (r) => `failed,${r.string(3, 'XYZ')}`,
    (r) => encodeURIComponent(r.unicode(5)),
    () => 'failed%00',
    () => '%ff',
    (r) => repeated('state', new Array<string>(r.int(51, 80)).fill('failed')),
  ],
  cause: [
    () => 'CORRUPT_PDF',
    () => 'corrupt-pdf',
    (r) => 'x'.repeat(r.int(65, 500)),
    () => 'none%00',
    () => '%ff',
    (r) => oddValue(r).replace(/^$/, '%20'),
  ],
  sender: [
    () => 'nobody',
    () => 'a%20b%40example.com',
    () => 'a%00%40example.com',
    () => '%ff%40example.com',
    (r) => `${'x'.repeat(r.int(320, 2000))}%40a.b`,
    () => '%40%40',
    () => repeated('sender', ['a%40b.c', 'c%40d.e']),
    () => '',
  ],
  platform: [
    () => 'ESIGNANYWHERE',
    () => 'a%2Fb',
    (r) => 'x'.repeat(r.int(65, 500)),
    () => '%00',
    () => '',
    () => repeated('platform', ['esignanywhere', 'esignanywhere']),
    (r) => oddValue(r).replace(/^$/, '%20'),
  ],
  dateField: [() => 'finished', () => '', () => repeated('dateField', ['created', 'updated']), () => '%ff'],
  from: [
    () => 'yesterday',
    () => '2025-02-30',
    () => '2025-13-01',
    () => '%2B275760-09-13',
    () => '1700000000',
    () => '',
    () => '%ff',
    () => repeated('from', ['2025-01-01', '2025-01-02']),
    () => '9999-99-99',
    () => '2025-01-01T25%3A00%3A00Z',
    () => '2025-01-01T00%3A00%3A00',
    (r) => oddValue(r).replace(/^$/, '%20'),
  ],
  to: [
    () => 'tomorrow',
    () => '2025-02-29',
    () => '0',
    () => repeated('to', ['2025-01-01', '2025-01-01']),
    // Before `from`: the range is named by `to`.
    () => '2020-01-01&from=2030-01-01',
  ],
  q: [
    () => 'zz',
    (r) => 'a'.repeat(r.int(201, 400)),
    () => '%00',
    () => '',
    () => repeated('q', ['ab', 'cd']),
  ],
  limit: [
    () => '0',
    () => '-1',
    () => '201',
    () => '1e400',
    () => '99999999999999999999',
    () => '0x10',
    () => '1.5',
    () => '%205',
    () => '',
    () => 'NaN',
    () => 'Infinity',
    () => repeated('limit', ['5', '5']),
    () => '1e2',
    () => '%2B5',
  ],
  cursor: [
    (r) => r.string(r.int(1, 199), `${ALNUM}-_`),
    (r) =>
      cursorOf({
        c: r.pick([
          '0000-01-01T00:00:00.000000Z',
          '2025-02-30T10:00:00.000000Z',
          '2025-13-01T10:00:00.000000Z',
          '2025-00-10T10:00:00.000000Z',
          '2025-01-01T25:00:00.000000Z',
          '2025-01-01T10:60:00.000000Z',
          '2025-01-01T10:00:00.000Z',
          '2025-01-01T10:00:00.000000+01:00',
        ]),
        i: r.guid(),
      }),
    (r) => cursorOf({ c: '2025-01-01T00:00:00.000000Z', i: r.pick(['x', '', 'g'.repeat(36)]) }),
    (r) => cursorOf({ c: '2025-01-01T00:00:00.000000Z', i: r.guid(), x: 1 }),
    (r) => cursorOf(r.pick([null, 1, 'text', [], {}])),
    () => '%ff',
    () => '%%',
    (r) => 'A'.repeat(r.int(201, 3000)),
    (r) => repeated('cursor', [cursorOf({ c: '2025-01-01T00:00:00.000000Z', i: r.guid() }), 'x']),
    (r) => oddValue(r).replace(/^$/, '%20'),
  ],
};

const UNKNOWN_PARAMS: [string, string][] = [
  ['status', 'status'],
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
  ['prototype', 'prototype'],
  ['state[]', 'state[]'],
  ['STATE', 'STATE'],
  ['x%ff', 'x%ff'],
  ['%ff', '%ff'],
  ['a%00', 'a\u0000'],
  ['%E2%82%AC', '\u20ac'],
];

const INVALID_IDS: ((r: Rng) => string)[] = [
  () => 'abc',
  (r) => r.guid().slice(0, -1),
  (r) => `${r.guid()}0`,
  (r) => r.guid().replace('-', '_'),
  () => '%ff',
  () => '%E2%82',
  () => '%00',
  (r) => 'x'.repeat(r.int(101, 3000)),
  (r) => encodeURIComponent(r.unicode(r.int(1, 10))),
  () => '%2E%2E',
  () => '12345',
  () => '-1',
  () => '9'.repeat(40),
  (r) => `%7B${r.guid()}%7D`,
  (r) => `${r.guid()}%00`,
  (r) => `${r.guid()}%20`,
  () => '%2F',
];

const DISMISS_BODIES: ((r: Rng) => string)[] = [
  () => '{"reason":""}',
  () => '{"reason":"ab"}',
  (r) => JSON.stringify({ reason: 'x'.repeat(r.int(501, 5000)) }),
  () => '{"reason":42}',
  () => '{"reason":"a fine reason","extra":1}',
  () => '[]',
  () => 'null',
  () => '"text"',
  () => '{"reason":"dup\\u0000licate"}',
  () => '{"reason":["a reason"]}',
  () => '{"__proto__":{"reason":"a reason"}}',
  () => '{',
  (r) => '['.repeat(r.int(10, 5000)),
  (r) => JSON.stringify({ reason: `${r.unicode(3)}\u0000${r.unicode(3)}` }),
];

const BULK_BODIES: ((r: Rng) => string)[] = [
  () => '{}',
  () => '{"platform":"x"}',
  () => '{"state":"done"}',
  () => '{"state":"failed","limit":1e400}',
  () => '{"state":"failed","limit":501}',
  () => '{"state":"failed","limit":"5"}',
  () => '{"state":"failed","limit":-0.5}',
  () => '{"state":"failed","sender":"a\\u0000@b.c"}',
  () => '{"state":["failed"],"stat":1}',
  () => '{"state":"failed","from":"2025-02-30"}',
  () => '{"state":"failed","from":"2025-02-01","to":"2025-01-01"}',
  () => JSON.stringify({ state: Array(60).fill('failed') }),
  () => '{"cause":"CORRUPT"}',
  () => '{"state":"failed","cause":"none","q":"zz"}',
  () => '[{"state":"failed"}]',
  () => '"failed"',
  () => '{"state":',
];

const WRONG_AUTH: ((r: Rng, token: string) => string | undefined)[] = [
  () => undefined,
  (r) => `Bearer ${r.string(r.int(1, 60))}`,
  (_r, t) => `Bearer ${t.slice(0, -1)}`,
  (_r, t) => `Bearer ${t}x`,
  (_r, t) => `Basic ${Buffer.from(`alice:${t}`).toString('base64')}`,
  (_r, t) => t,
  (r) => `Bearer ${'A'.repeat(r.int(1000, 6000))}`,
  () => 'Bearer',
  (_r, t) => `Bearer\t${t}`,
];

/** A request to the admin API: a defect in its query, path or body, with or without a valid token. */
export function hostileAdmin(r: Rng, token: string): HostileRequest {
  const authorized = r.chance(0.6);
  const headers: Record<string, string> = {};
  if (authorized) headers.authorization = `Bearer ${token}`;
  else {
    const auth = r.pick(WRONG_AUTH)(r, token);
    if (auth !== undefined) headers.authorization = auth;
  }
  if (r.chance(0.2)) headers['x-forwarded-for'] = spoofedAddress(r);
  const refusedOr = (expect: Expectation): Expectation =>
    authorized ? expect : { kind: 'admin-refused', statuses: [401] };

  const kind = r.int(0, 99);
  if (kind < 50) {
    // The list: a few valid filters and one invalid parameter.
    const names = new Set<string>();
    for (let i = r.int(0, 3); i > 0; i--) names.add(r.pick(Object.keys(VALID_PARAMS)));
    let field: string;
    const params: string[] = [];
    if (r.chance(0.85)) {
      field = r.pick(Object.keys(INVALID_PARAMS));
      // A valid value beside the invalid one would repeat a single-valued parameter: a second defect.
      names.delete(field);
      for (const name of names) params.push(`${name}=${VALID_PARAMS[name](r)}`);
      params.splice(r.int(0, params.length), 0, `${field}=${r.pick(INVALID_PARAMS[field])(r)}`);
    } else {
      for (const name of names) params.push(`${name}=${VALID_PARAMS[name](r)}`);
      const [raw, decoded] = r.pick(UNKNOWN_PARAMS);
      field = decoded;
      params.splice(r.int(0, params.length), 0, `${raw}=${r.string(3)}`);
    }
    return {
      family: `admin list: ${authorized ? 'invalid parameter' : 'no valid token'}`,
      method: 'GET',
      path: `/admin/transfers?${params.filter((p) => p !== '').join('&')}`,
      headers,
      expect: refusedOr({ kind: 'admin-invalid', field }),
    };
  }
  if (kind < 80) {
    // One transfer: a malformed id, or a well-formed one that does not exist.
    const wellFormed = r.chance(0.25);
    const id = wellFormed ? r.guid() : r.pick(INVALID_IDS)(r);
    const route = r.pick(['detail', 'retry', 'dismiss'] as const);
    // With a malformed id the body is fine, so that the answer is about the id.
    const badBody = route === 'dismiss' && wellFormed && r.chance(0.7);
    let body: string | undefined;
    if (route === 'dismiss') {
      headers['content-type'] = badBody
        ? r.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'])
        : 'application/json';
      body = badBody ? r.pick(DISMISS_BODIES)(r) : '{"reason":"a fine reason"}';
    }
    let expect: Expectation;
    if (!wellFormed) expect = { kind: 'admin-invalid', field: 'id' };
    else if (badBody) expect = { kind: 'admin-invalid' };
    else expect = { kind: 'admin-other', statuses: [404] };
    const family = !wellFormed ? 'invalid id' : badBody ? 'invalid body' : 'unknown id';
    return {
      family: `admin ${route}: ${authorized ? family : 'no valid token'}`,
      method: route === 'detail' ? 'GET' : 'POST',
      path: `/admin/transfers/${id}${route === 'detail' ? '' : `/${route}`}`,
      headers,
      body,
      // A path that cannot be decoded, or an id too long for the router, is refused before auth.
      // So is a body Fastify cannot parse.
      expect: authorized
        ? expect
        : { kind: 'admin-refused', statuses: wellFormed && !badBody ? [401] : [400, 401] },
    };
  }
  if (kind < 92) {
    headers['content-type'] = r.pick(['application/json', 'application/json', 'text/plain']);
    return {
      family: `admin bulk retry: ${authorized ? 'invalid body' : 'no valid token'}`,
      method: 'POST',
      path: '/admin/transfers/retry',
      headers,
      body: r.pick(BULK_BODIES)(r),
      expect: authorized ? { kind: 'admin-invalid' } : { kind: 'admin-refused', statuses: [400, 401] },
    };
  }
  if (kind < 97) {
    const [raw, decoded] = r.pick([...UNKNOWN_PARAMS, ['limit', 'limit'], ['state', 'state']]);
    return {
      family: `admin summary: ${authorized ? 'unknown parameter' : 'no valid token'}`,
      method: 'GET',
      path: `/admin/summary?${raw}=${oddValue(r)}`,
      headers,
      expect: refusedOr({ kind: 'admin-invalid', field: decoded }),
    };
  }
  return {
    family: 'admin page with garbage',
    method: 'GET',
    path: `/admin?${r.string(3)}=${oddValue(r)}`,
    headers,
    expect: { kind: 'admin-other', statuses: [200] },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests that are not even valid HTTP, sent on raw connections.

export function malformedHttp(r: Rng, wrongToken: string): string {
  const envelope = r.guid();
  const target = `/callbacks/esignanywhere?envelope=${envelope}&action=envelopeFinished&token=${wrongToken}`;
  const cases: (() => string)[] = [
    () => `GET /callbacks/esignanywhere?envelope=\x00${envelope} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `GET /callbacks/esign anywhere?envelope=${envelope} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.1\x00\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n`,
    () => `G\x01T ${target} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `GET ${target} HTTP/2.0\r\nHost: x\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\n\r\n`,
    () => `GET ${target}\r\n\r\n`,
    () => `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde`,
    () =>
      `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    () => `POST ${target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    () => `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(r.int(17_000, 40_000))}\r\n\r\n`,
    () =>
      `GET /callbacks/${Buffer.from(r.unicode(5), 'utf8').toString('latin1')} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n`,
    () => `\r\n\r\n\r\n`,
    () => `${r.string(r.int(1, 100), ALNUM)}\r\n\r\n`,
    () => `GET ${target} HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(r.int(100, 3000))}\r\n`,
  ];
  return r.pick(cases)();
}
