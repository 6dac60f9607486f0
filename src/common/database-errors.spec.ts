import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryFailedError } from 'typeorm';
import {
  DatabaseUnavailableError,
  describeErrorChain,
  isDatabaseUnavailable,
  isInvalidDataError,
  sqlState,
} from './database-errors';

// What pg's DatabaseError carries: a message and the SQLSTATE in `code`.
const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });
const viaTypeorm = (code: string, message?: string) =>
  new QueryFailedError('SELECT 1', [], pgError(code, message));

describe('database error classification', () => {
  for (const [code, message] of [
    ['55000', 'database "x" is not currently accepting connections'],
    ['3D000', 'database "x" does not exist'],
    ['53300', 'too many connections for database "x"'],
    ['53300', 'sorry, too many clients already'],
    ['53100', 'could not extend file: No space left on device'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P04', 'database dropped'],
    ['08006', 'connection failure'],
    ['08P01', 'protocol violation'],
  ] as const) {
    it(`treats ${code} "${message}" as unavailable, raw and wrapped by TypeORM`, () => {
      assert.equal(isDatabaseUnavailable(pgError(code, message)), true);
      assert.equal(isDatabaseUnavailable(viaTypeorm(code, message)), true);
      assert.equal(isInvalidDataError(viaTypeorm(code, message)), false);
    });
  }

  for (const [code, message] of [
    ['55000', 'cannot alter type because it is in use'],
    ['42P01', 'relation "noted_events" does not exist'],
    ['23505', 'duplicate key value violates unique constraint'],
    ['22P02', 'invalid input syntax for type uuid'],
  ] as const) {
    it(`does not treat ${code} "${message}" as unavailable`, () => {
      assert.equal(isDatabaseUnavailable(viaTypeorm(code, message)), false);
    });
  }

  it('finds class 22 and 23 errors as invalid data, also behind a cause', () => {
    assert.equal(isInvalidDataError(viaTypeorm('22P02')), true);
    assert.equal(isInvalidDataError(viaTypeorm('23514')), true);
    assert.equal(isInvalidDataError(new Error('wrapped', { cause: pgError('23505') })), true);
    assert.equal(isInvalidDataError(viaTypeorm('42P01')), false);
    assert.equal(isInvalidDataError(pgError('EPIPE')), false);
    assert.equal(isInvalidDataError(new Error('no code')), false);
  });

  it('reads the SQLSTATE but not a Node error code', () => {
    assert.equal(sqlState(viaTypeorm('3D000')), '3D000');
    assert.equal(sqlState(pgError('ECONNREFUSED')), undefined);
    assert.equal(sqlState(pgError('EPIPE')), undefined);
  });

  it('describes an error with its causes and their codes for the log', () => {
    const error = new DatabaseUnavailableError('could not note', {
      cause: pgError('55000', 'not currently accepting connections'),
    });
    assert.equal(
      describeErrorChain(error),
      'could not note (UNAVAILABLE) <- not currently accepting connections (55000)',
    );
  });
});
