import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A pending OAuth authorization: single use, short-lived, bound to one browser. */
@Entity({ name: 'oauth_states' })
export class OAuthState {
  /** sha256 of the state value sent to the authorization server. */
  @PrimaryColumn({ name: 'state_hash', type: 'text' })
  stateHash!: string;

  /** sha256 of the browser-binding nonce kept in the signed cookie. */
  @Column({ name: 'browser_hash', type: 'text' })
  browserHash!: string;

  /** The PKCE verifier, until the state is used or expires; then null. */
  @Column({ name: 'code_verifier', type: 'text', nullable: true })
  codeVerifier!: string | null;

  @Column({ type: 'text' })
  platform!: string;

  @Column({ name: 'platform_user_id', type: 'text' })
  platformUserId!: string;

  @Column({ name: 'organization_id', type: 'text', nullable: true })
  organizationId!: string | null;

  /** The draft waiting on the before-send page, when the flow started there. */
  @Column({ name: 'draft_id', type: 'text', nullable: true })
  draftId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;
}
