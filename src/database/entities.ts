import { AdminAction } from '../admin/admin-action.entity';
import { OAuthState } from '../senders/oauth-state.entity';
import { NotedEvent } from '../intake/noted-event.entity';
import { OutboundMail } from '../notifications/outbound-mail.entity';
import { ReconciliationRun } from '../reconciliation/reconciliation-run.entity';
import { EnvelopeSender } from '../senders/envelope-sender.entity';
import { Sender } from '../senders/sender.entity';
import { TransferAttempt } from '../transfers/transfer-attempt.entity';
import { TransferDocument } from '../transfers/transfer-document.entity';
import { Transfer } from '../transfers/transfer.entity';

export const ENTITIES = [
  NotedEvent,
  Transfer,
  TransferDocument,
  TransferAttempt,
  Sender,
  EnvelopeSender,
  AdminAction,
  OutboundMail,
  OAuthState,
  ReconciliationRun,
];
