import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { DataSource } from 'typeorm';
import { TokenCipher } from '../../src/senders/token-cipher';
import { rotateTokenKeys } from '../../src/senders/token-key-rotation';
import { createMigratedDataSource } from '../support/database';

const run = promisify(execFile);
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const ring = (...entries: string[]) => new TokenCipher({ TOKEN_ENCRYPTION_KEYS: entries });
const CLI = join(__dirname, '../../src/senders/rotate-keys.cli.js');

interface StoredToken {
  id: string;
  token_key_id: string;
  token_ciphertext: Buffer;
}

describe('rotating the token encryption keys (real PostgreSQL)', () => {
  let ctx: Awaited<ReturnType<typeof createMigratedDataSource>>;
  let ds: DataSource;
  const k1 = key('k1');
  const k2 = key('k2');
  const k3 = key('k3');
  const tokens = new Map<string, string>(); // sender row id -> plaintext, for checking only

  /** A granted sender whose token is sealed by `cipher`. */
  async function addSender(cipher: TokenCipher): Promise<string> {
    const [{ id }] = await ds.query<{ id: string }[]>(
      `INSERT INTO senders (platform, platform_user_id, consent_state) VALUES ('esignanywhere', $1, 'granted') RETURNING id`,
      [randomUUID()],
    );
    const token = randomBytes(24).toString('base64url');
    const sealed = cipher.encrypt(token, id);
    await ds.query('UPDATE senders SET token_ciphertext = $2, token_key_id = $3 WHERE id = $1', [
      id,
      sealed.blob,
      sealed.keyId,
    ]);
    tokens.set(id, token);
    return id;
  }

  const stored = async (id: string): Promise<StoredToken> =>
    (
      await ds.query<StoredToken[]>('SELECT id, token_key_id, token_ciphertext FROM senders WHERE id = $1', [
        id,
      ])
    )[0];

  before(async () => {
    ctx = await createMigratedDataSource();
    ds = ctx.dataSource;
  });
  after(async () => {
    await ctx?.close();
  });

  it('re-encrypts every old token under the new first key, in batches; old keys are then unnecessary', async () => {
    const old = await Promise.all(Array.from({ length: 5 }, () => addSender(ring(k1))));
    const current = await addSender(ring(k2));
    const currentBefore = await stored(current);
    await ds.query(`INSERT INTO senders (platform, platform_user_id) VALUES ('esignanywhere', $1)`, [
      randomUUID(),
    ]);
    const lost = await addSender(ring(key('gone')));

    const rotated = ring(k2, k1);
    for (const id of old) {
      const row = await stored(id);
      assert.equal(
        rotated.decrypt({ keyId: row.token_key_id, blob: row.token_ciphertext }, id),
        tokens.get(id),
        'readable before',
      );
    }
    const batches: number[] = [];
    const report = await rotateTokenKeys(ds, rotated, {
      batchSize: 2,
      onBatch: (p) => batches.push(p.examined),
    });

    assert.equal(report.primaryKeyId, 'k2');
    assert.equal(report.examined, 6);
    assert.equal(report.rotated, 5);
    assert.equal(report.changedMeanwhile, 0);
    assert.deepEqual(report.unreadable, [{ senderId: lost, keyId: 'gone', reason: 'UNKNOWN_KEY' }]);
    assert.equal(report.remaining, 1);
    assert.deepEqual(batches, [2, 4, 6]);

    const onlyNewKey = ring(k2);
    for (const id of old) {
      const row = await stored(id);
      assert.equal(row.token_key_id, 'k2');
      assert.equal(
        onlyNewKey.decrypt({ keyId: row.token_key_id, blob: row.token_ciphertext }, id),
        tokens.get(id),
      );
    }
    assert.ok(
      (await stored(current)).token_ciphertext.equals(currentBefore.token_ciphertext),
      'current rows untouched',
    );
    await ds.query('DELETE FROM senders WHERE id = $1', [lost]);
  });

  it('a grant landing between the read and the write wins: the row is fenced on what was read', async () => {
    const id = await addSender(ring(k2));
    const fresh = ring(k3, k2).encrypt('token-granted-meanwhile', id);
    let interfered = false;
    const racing = new Proxy(ds, {
      get(target, prop, receiver) {
        if (prop !== 'query') {
          const member: unknown = Reflect.get(target, prop, receiver);
          return member;
        }
        return async (sql: string, params?: unknown[]) => {
          if (!interfered && sql.includes('WITH rotated')) {
            interfered = true;
            await target.query('UPDATE senders SET token_ciphertext = $2, token_key_id = $3 WHERE id = $1', [
              id,
              fresh.blob,
              fresh.keyId,
            ]);
          }
          return target.query<unknown>(sql, params);
        };
      },
    });
    const report = await rotateTokenKeys(racing, ring(k3, k2));
    assert.ok(interfered);
    assert.equal(report.changedMeanwhile, 1);
    const row = await stored(id);
    assert.ok(row.token_ciphertext.equals(fresh.blob), 'the new grant was not overwritten');
    assert.equal(
      ring(k3).decrypt({ keyId: row.token_key_id, blob: row.token_ciphertext }, id),
      'token-granted-meanwhile',
    );
    tokens.set(id, 'token-granted-meanwhile');
  });

  it('`npm run rotate-keys` (the CLI) rotates to the new first key and prints counts, never a token', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: ctx.db.url,
      CALLBACK_AUTH: 'none',
      LOG_LEVEL: 'silent',
      TOKEN_ENCRYPTION_KEYS: [k3, k2, k1].join(','),
    };
    await Promise.all([addSender(ring(k1)), addSender(ring(k2)), addSender(ring(k2, k1))]);
    const total = Number(
      (
        await ds.query<{ n: number }[]>(
          'SELECT count(*)::int AS n FROM senders WHERE token_ciphertext IS NOT NULL',
        )
      )[0].n,
    );
    const stale = Number(
      (
        await ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM senders WHERE token_key_id <> 'k3'`)
      )[0].n,
    );
    assert.equal(stale, 3);
    const { stdout, stderr } = await run(process.execPath, [CLI], { env, timeout: 60_000 });
    assert.match(
      stdout,
      new RegExp(
        `primary key k3: ${stale} examined, ${stale} rotated, 0 changed meanwhile, 0 unreadable, 0 remaining`,
      ),
    );
    for (const token of tokens.values()) {
      assert.ok(!stdout.includes(token) && !stderr.includes(token), 'no token in the output');
    }
    const rows: StoredToken[] = await ds.query(
      'SELECT id, token_key_id, token_ciphertext FROM senders WHERE token_ciphertext IS NOT NULL',
    );
    assert.equal(rows.length, total);
    const onlyK3 = ring(k3);
    for (const row of rows) {
      assert.equal(row.token_key_id, 'k3');
      assert.equal(
        onlyK3.decrypt({ keyId: row.token_key_id, blob: row.token_ciphertext }, row.id),
        tokens.get(row.id),
      );
    }
  });

  it('the CLI exits non-zero and names the row when a token cannot be opened with the ring', async () => {
    const lost = await addSender(ring(key('retired')));
    const env = {
      ...process.env,
      DATABASE_URL: ctx.db.url,
      CALLBACK_AUTH: 'none',
      TOKEN_ENCRYPTION_KEYS: [k3].join(','),
    };
    const failure = await run(process.execPath, [CLI], { env, timeout: 60_000 }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    assert.ok(failure, 'the CLI failed');
    assert.equal(failure.code, 1);
    assert.match(
      failure.stderr,
      new RegExp(`sender row ${lost}: token under key retired is unreadable \\(UNKNOWN_KEY\\)`),
    );
    assert.match(failure.stdout, /0 rotated, 0 changed meanwhile, 1 unreadable, 1 remaining/);
    assert.ok(!failure.stdout.includes(tokens.get(lost)!) && !failure.stderr.includes(tokens.get(lost)!));
  });

  it('the CLI refuses to run without keys (exit 78)', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: ctx.db.url,
      CALLBACK_AUTH: 'none',
      TOKEN_ENCRYPTION_KEYS: '',
    };
    const failure = await run(process.execPath, [CLI], { env, timeout: 60_000 }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    assert.equal(failure?.code, 78);
    assert.match(failure.stderr, /TOKEN_ENCRYPTION_KEYS is not set/);
  });
});
