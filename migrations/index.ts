import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { TransferResumedAt1764000100000 } from './1764000100000-transfer-resumed-at';
import { TransferWarning1764000200000 } from './1764000200000-transfer-warning';
import { OAuthVerifierClearedAfterUse1764000210000 } from './1764000210000-oauth-verifier-cleared-after-use';
import { TransferEnvelopeName1764000300000 } from './1764000300000-transfer-envelope-name';
import { OpaqueEnvelopeIds1764000400000 } from './1764000400000-opaque-envelope-ids';
import { Reconciliation1764000500000 } from './1764000500000-reconciliation';
import { PlatformChecksum1764000600000 } from './1764000600000-platform-checksum';
import { LegalesignCallbackBatches1764000700000 } from './1764000700000-legalesign-callback-batches';
import { PlatformCallBudgets1764000800000 } from './1764000800000-platform-call-budgets';

/** Every migration, oldest first. */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  TransferResumedAt1764000100000,
  TransferWarning1764000200000,
  OAuthVerifierClearedAfterUse1764000210000,
  TransferEnvelopeName1764000300000,
  OpaqueEnvelopeIds1764000400000,
  Reconciliation1764000500000,
  PlatformChecksum1764000600000,
  LegalesignCallbackBatches1764000700000,
  PlatformCallBudgets1764000800000,
];
