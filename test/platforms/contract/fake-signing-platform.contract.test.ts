import type { PlatformCall, SigningPlatform } from '../../../src/platforms/signing-platform';
import {
  FAKE_FALLBACK_TOKEN,
  FakeSigningPlatform,
  type FakeEnvelope,
  type FakeMethod,
} from '../../support/fake-signing-platform';
import {
  runSigningPlatformContract,
  type InjectedFault,
  type PlatformHarness,
  type PlatformOperation,
  type SeededEnvelope,
} from './signing-platform.contract';

/**
 * The in-memory platform the fast pipeline tests use must keep the same contract as the real adapters,
 * or those tests would prove decisions against a platform that cannot exist.
 */
class FakePlatformHarness implements PlatformHarness {
  readonly platformName = 'fake';
  readonly credentials = 'sender_token';
  readonly supportsListFinished = true;
  readonly announcesLength = true;
  private fake = new FakeSigningPlatform({ listFinished: true });
  private counter = 0;

  start(): Promise<void> {
    this.fake = new FakeSigningPlatform({ listFinished: true });
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  platform(): SigningPlatform {
    return this.fake;
  }

  call(signal?: AbortSignal): PlatformCall {
    return { token: FAKE_FALLBACK_TOKEN, ...(signal && { signal }) };
  }

  refusedCredential(): Promise<{ platform: SigningPlatform; call: PlatformCall }> {
    const token = this.fake.issueToken();
    this.fake.revokeToken(token);
    return Promise.resolve({ platform: this.fake, call: { token } });
  }

  seedCompleted(options: { documents: number }): Promise<SeededEnvelope> {
    return Promise.resolve(
      this.seeded(
        this.fake.addEnvelope({
          id: `contract-${++this.counter}`,
          name: `Contract bundle of ${options.documents}`,
          metadata: { fields: { 'Customer/Id': 'C-17' } },
          files: [
            ...Array.from({ length: options.documents }, (_, i) => ({
              fileName: `Document ${i + 1}.pdf`,
              size: 3_000 + i * 70_001,
            })),
            { kind: 'audit_trail_pdf' as const, fileName: 'audit-trail.pdf' },
            { kind: 'audit_trail_xml' as const, fileName: 'audit-trail.xml' },
          ],
        }),
      ),
    );
  }

  seedInProgress(): Promise<SeededEnvelope> {
    return Promise.resolve(this.seeded(this.fake.addEnvelope({ phase: 'in_progress' })));
  }

  seedEnded(): Promise<SeededEnvelope[]> {
    return Promise.resolve(
      ['Declined', 'Expired'].map((status) =>
        this.seeded(this.fake.addEnvelope({ phase: 'ended', status, name: `${status} offer` })),
      ),
    );
  }

  missingEnvelopeId(): string {
    return 'no-such-envelope';
  }

  failNext(operation: PlatformOperation, fault: InjectedFault, envelopeId?: string): void {
    const method: FakeMethod = operation;
    const match = envelopeId === undefined ? {} : { envelopeId };
    switch (fault.kind) {
      case 'unauthorized':
        return this.fake.fail(method, 'UNAUTHORIZED', match);
      case 'not_found':
        return this.fake.fail(method, 'NOT_FOUND', match);
      case 'rate_limited':
        return this.fake.fail(
          method,
          { code: 'RATE_LIMITED', retryAfterMs: fault.retryAfterSeconds * 1000 },
          match,
        );
      case 'server_error':
        return this.fake.fail(method, 'TRANSIENT', match);
      case 'malformed':
        return this.fake.fail(method, 'PROTOCOL', match);
      case 'slow':
        return this.fake.delay(method, fault.ms, match);
      case 'stall':
        return this.fake.stall(fault.afterBytes, match);
    }
  }

  clearFaults(): void {
    this.fake.clearFailures();
  }

  private seeded(e: FakeEnvelope): SeededEnvelope {
    return {
      id: e.id,
      phase: e.phase,
      status: e.status,
      name: e.name,
      senderEmail: e.sender.email,
      files: e.files.map(({ kind, fileName, pdf, bytes, sha256 }) => ({
        kind,
        fileName,
        pdf,
        size: bytes.length,
        sha256,
      })),
      metadata: { ...e.metadata.fields },
    };
  }
}

runSigningPlatformContract('the in-memory fake platform', () => new FakePlatformHarness());
