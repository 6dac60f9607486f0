import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pinoHttp, type Options } from 'pino-http';
import { loggerParams } from './logging';

function captured(): {
  logger: ReturnType<typeof pinoHttp>['logger'];
  lines: () => Record<string, unknown>[];
} {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  // The logger the application logs through is built from these options the same way.
  const logger = pinoHttp(loggerParams('info').pinoHttp as Options, stream).logger;
  return {
    logger,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('the logger', () => {
  it('writes JSON lines with an ISO time, a level name and the service', () => {
    const { logger, lines } = captured();
    logger.info({ transferId: 't-1' }, 'hello');
    const [line] = lines();
    assert.equal(line.level, 'info');
    assert.equal(line.service, 'esign-archiver');
    assert.equal(line.transferId, 't-1');
    assert.equal(line.msg, 'hello');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('redacts tokens, passwords, secrets, Authorization headers and cookies wherever a line carries them', () => {
    const { logger, lines } = captured();
    logger.warn({
      token: 'secret-1',
      password: 'secret-2',
      apiToken: 'secret-3',
      config: { accessToken: 'secret-4', clientSecret: 'secret-5', refreshToken: 'secret-6' },
      headers: { authorization: 'Bearer secret-7', cookie: 'a=secret-8', 'set-cookie': 'b=secret-9' },
      req: {
        headers: { authorization: 'Basic secret-10', cookie: 'c=secret-11' },
        query: { code: 'secret-12' },
      },
      kept: 'visible',
    });
    const text = JSON.stringify(lines());
    assert.doesNotMatch(text, /secret-/);
    assert.match(text, /\[redacted\]/);
    assert.match(text, /visible/);
  });
});
