import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TransferRepository } from '../transfers/transfer.repository';
import { SenderRepository } from './sender.repository';
import { TokenCipher } from './token-cipher';

export interface SenderGrant {
  platform: string;
  platformUserId: string;
  organizationId: string | null;
  /** The sender's API token, as the platform issued it. Sealed before it reaches the database. */
  token: string;
  /** The address the platform gives for the token's user; a stored one stays when it gives none. */
  email?: string;
}

export interface StoredGrant {
  senderId: string;
  /** Transfers of this sender's envelopes that were waiting for consent and are due again. */
  resumedTransfers: number;
}

/**
 * Records that a sender granted API access: the token sealed under the primary key with the sender's
 * row id as context, the consent state, the sender's address, and the sender's paused transfers
 * resumed, in one transaction. Callers store only a grant the platform has confirmed is the sender's.
 */
@Injectable()
export class SenderGrantService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly senders: SenderRepository,
    private readonly cipher: TokenCipher,
    private readonly transfers: TransferRepository,
  ) {}

  async storeGrant(grant: SenderGrant): Promise<StoredGrant> {
    return this.dataSource.transaction(async (manager) => {
      // The upsert locks the row, so two grants for one sender at once apply one after the other.
      const senderId = await this.senders.upsert(
        grant.platform,
        grant.platformUserId,
        grant.organizationId,
        manager,
      );
      await this.senders.saveGrant(
        senderId,
        this.cipher.encrypt(grant.token, senderId),
        grant.email ?? null,
        manager,
      );
      const resumedTransfers = await this.transfers.resumeAfterConsent(grant.platform, senderId, manager);
      return { senderId, resumedTransfers };
    });
  }

  /**
   * The stored token still works, so transfers paused for consent (refused during an outage, or just
   * before a new grant landed) may go on.
   */
  async resumeAwaitingConsent(platform: string, senderId: string): Promise<number> {
    return this.dataSource.transaction((manager) =>
      this.transfers.resumeAfterConsent(platform, senderId, manager),
    );
  }
}
