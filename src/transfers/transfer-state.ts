export const TRANSFER_STATES = [
  'pending',
  'checking',
  'waiting',
  'archiving',
  'archived',
  'done',
  'retrying',
  'needs_consent',
  'gone',
  'failed',
  'dismissed',
] as const;

export type TransferState = (typeof TRANSFER_STATES)[number];

/** States a worker may claim when they are due. */
export const DUE_STATES: readonly TransferState[] = ['pending', 'waiting', 'retrying', 'archived'];
/** States held under a lease while a worker runs. */
export const LEASED_STATES: readonly TransferState[] = ['checking', 'archiving'];
/** States that end the work item. */
export const FINAL_STATES: readonly TransferState[] = ['done', 'gone', 'dismissed'];
/** States an operator may retry. */
export const RETRYABLE_STATES: readonly TransferState[] = [
  'failed',
  'needs_consent',
  'retrying',
  'waiting',
  'dismissed',
];

/** Who asked for a transfer. */
export const TRANSFER_ORIGINS = ['callback', 'reconciliation'] as const;
export type TransferOrigin = (typeof TRANSFER_ORIGINS)[number];
