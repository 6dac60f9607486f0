import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSmtpUrl, mailErrorFromNodemailer } from './smtp-mail-transport';

// Shaped like the errors nodemailer 10 hands out (code, responseCode, permanent, command).
const nodemailerError = (fields: Record<string, unknown>) => Object.assign(new Error('failed'), fields);

describe('mailErrorFromNodemailer', () => {
  it('treats an unreachable or vanished server as unavailable for all mail', () => {
    for (const fields of [
      { code: 'ESOCKET', originalCode: 'ECONNREFUSED' },
      { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' },
      { code: 'ECONNECTION' },
      { code: 'EDNS' },
      { code: 'EENVELOPE', responseCode: 421, permanent: false },
    ]) {
      const mapped = mailErrorFromNodemailer(nodemailerError(fields), 'sending');
      assert.equal(mapped.code, 'UNAVAILABLE', JSON.stringify(fields));
      assert.equal(mapped.affectsAllMail, true);
    }
  });

  it('treats refused logins, TLS and a refused sender address as configuration problems', () => {
    for (const fields of [
      { code: 'EAUTH', responseCode: 535, permanent: true },
      { code: 'ETLS' },
      { code: 'EENVELOPE', responseCode: 553, permanent: true, command: 'MAIL FROM' },
    ]) {
      assert.equal(
        mailErrorFromNodemailer(nodemailerError(fields), 'sending').code,
        'CONFIG',
        JSON.stringify(fields),
      );
    }
  });

  it('tells a message refused for good from one refused for now', () => {
    const gone = mailErrorFromNodemailer(
      nodemailerError({ code: 'EENVELOPE', responseCode: 550, permanent: true, command: 'RCPT TO' }),
      'sending',
    );
    assert.equal(gone.code, 'REJECTED');
    assert.equal(gone.affectsAllMail, false);
    const busy = mailErrorFromNodemailer(
      nodemailerError({ code: 'EENVELOPE', responseCode: 451, permanent: false, command: 'RCPT TO' }),
      'sending',
    );
    assert.equal(busy.code, 'TRANSIENT');
    assert.equal(
      mailErrorFromNodemailer(nodemailerError({ code: 'EMESSAGE', responseCode: 552 }), 's').code,
      'REJECTED',
    );
    assert.equal(mailErrorFromNodemailer(nodemailerError({ code: 'EENVELOPE' }), 's').code, 'REJECTED');
  });

  it('keeps the nodemailer error as the cause and names it in the message', () => {
    const original = nodemailerError({ code: 'EAUTH', responseCode: 535 });
    const mapped = mailErrorFromNodemailer(original, 'sending "x"');
    assert.equal(mapped.cause, original);
    assert.match(mapped.message, /^sending "x" failed \(EAUTH 535\): failed$/);
  });
});

describe('describeSmtpUrl', () => {
  it('never shows credentials', () => {
    assert.equal(describeSmtpUrl('smtps://user:s3cret@mail.example.com:465'), 'smtps://mail.example.com:465');
  });
});
