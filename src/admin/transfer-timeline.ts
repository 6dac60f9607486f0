import type {
  AdminActionView,
  AttemptView,
  CallbackView,
  TimelineEntry,
  TransferDetail,
} from './admin-api.schemas';

function describeAction(action: AdminActionView): string {
  const reason = typeof action.detail.reason === 'string' ? `: ${action.detail.reason}` : '';
  const from = typeof action.detail.from === 'string' ? ` (was ${action.detail.from})` : '';
  return `${action.action.replace(/_/g, ' ')} by ${action.actor}${from}${reason}`;
}

function describeAttempt(attempt: AttemptView): string {
  const end =
    attempt.finishedAt === null
      ? 'still running or interrupted'
      : `ended ${attempt.outcome ?? 'without an outcome'}`;
  const error = attempt.error ? ` — ${attempt.errorClass ?? 'error'}: ${attempt.error}` : '';
  return `attempt ${attempt.attempt} on ${attempt.worker}: ${end}${error}`;
}

function describeCallback(callback: CallbackView): string {
  const times = callback.receivedCount === 1 ? 'once' : `${callback.receivedCount} times`;
  return `callback ${callback.action} received ${times}`;
}

/** Everything known about a transfer, oldest first; ties keep the order of a transfer's life. */
export function buildTimeline(
  transfer: TransferDetail['transfer'],
  attempts: readonly AttemptView[],
  callbacks: readonly CallbackView[],
  actions: readonly AdminActionView[],
): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ at: transfer.createdAt, kind: 'created', summary: 'transfer created' }];
  for (const c of callbacks)
    entries.push({ at: c.firstReceivedAt, kind: 'callback', summary: describeCallback(c) });
  for (const a of attempts) entries.push({ at: a.startedAt, kind: 'attempt', summary: describeAttempt(a) });
  if (transfer.archivedAt) {
    entries.push({
      at: transfer.archivedAt,
      kind: 'archived',
      summary: 'every document verified in the object store',
    });
  }
  if (transfer.platformDeletedAt) {
    entries.push({
      at: transfer.platformDeletedAt,
      kind: 'platform_deleted',
      summary: 'envelope deleted on the platform',
    });
  }
  if (transfer.finishedAt) {
    entries.push({ at: transfer.finishedAt, kind: 'finished', summary: `finished as ${transfer.state}` });
  }
  for (const a of actions) entries.push({ at: a.at, kind: 'admin_action', summary: describeAction(a) });
  // Array sort is stable: entries with the same time keep the order pushed above.
  return entries.sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
}
