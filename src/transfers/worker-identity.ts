import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { version } from '../../package.json';

/** Written into every manifest and object: which release archived it. */
export const WORKER_VERSION = `esign-archiver/${version}`;

/** Names this process in leases and attempt records. */
export function workerName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
