import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifiedAlgorithm } from './legalesign-signature';

describe('Legalesign callback signatures', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data =
    '[{"timestamp":"2018-03-20T07:09:52","name":"status","value":"30","resource_uri":"/api/v1/document/x/"}]';

  it('verifies PKCS#1 v1.5 over the data with SHA-1 (the documented one) or another digest, and says which', () => {
    assert.equal(
      verifiedAlgorithm(data, sign('sha1', Buffer.from(data), privateKey).toString('base64'), publicKey),
      'RSA-SHA1',
    );
    assert.equal(
      verifiedAlgorithm(data, sign('sha256', Buffer.from(data), privateKey).toString('base64'), publicKey),
      'RSA-SHA256',
    );
    const pss = sign('sha256', Buffer.from(data), {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
    });
    assert.equal(verifiedAlgorithm(data, pss.toString('base64'), publicKey), 'RSA-PSS-SHA256');
  });

  it('refuses altered data, another key, and signatures that are not base64 or are empty', () => {
    const signature = sign('sha1', Buffer.from(data), privateKey).toString('base64');
    assert.equal(verifiedAlgorithm(data.replace('"30"', '"50"'), signature, publicKey), undefined);
    assert.equal(
      verifiedAlgorithm(
        data,
        sign('sha1', Buffer.from(data), other.privateKey).toString('base64'),
        publicKey,
      ),
      undefined,
    );
    assert.equal(verifiedAlgorithm(data, '', publicKey), undefined);
    assert.equal(verifiedAlgorithm(data, 'not base64!', publicKey), undefined);
    assert.equal(verifiedAlgorithm(data, 'A'.repeat(5000), publicKey), undefined);
  });
});
