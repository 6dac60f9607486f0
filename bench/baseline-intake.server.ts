// The yardstick for the intake benchmark: a bare node:http server with a pg pool doing the same
// auth check, validation and one INSERT ... ON CONFLICT statement per callback, nothing else.
import { createServer } from 'node:http';
import { Pool } from 'pg';
import { secretsEqual } from '../src/common/secrets';
import { parseEsawCallback } from '../src/platforms/esignanywhere/esignanywhere-callback.parser';

const SQL = `
WITH noted AS (
  INSERT INTO noted_events AS ne (platform, envelope_id, action, received_count, request)
  VALUES ($1, $2, $3, 1, $4)
  ON CONFLICT ON CONSTRAINT uq_noted_events_key DO UPDATE
    SET received_count = ne.received_count + 1, last_received_at = now()
  RETURNING 1
), work AS (
  INSERT INTO transfers (platform, envelope_id) SELECT $1, $2 WHERE $5
  ON CONFLICT ON CONSTRAINT uq_transfers_envelope DO NOTHING
  RETURNING 1
)
SELECT 1`;

const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});
const token = process.env.CALLBACK_TOKEN ?? '';

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const query = Object.fromEntries(url.searchParams);
  if (!secretsEqual(query.token ?? '', token)) {
    res.writeHead(401).end();
    return;
  }
  const parsed = parseEsawCallback(query);
  if (!parsed.ok) {
    res.writeHead(400).end(parsed.reason);
    return;
  }
  const request = { method: req.method, query: { envelope: query.envelope, action: query.action } };
  pool
    .query(SQL, [
      'esignanywhere',
      parsed.envelopeId,
      parsed.action,
      JSON.stringify(request),
      parsed.createsWork,
    ])
    .then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"noted"}'))
    .catch(() => res.writeHead(503).end());
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
