/**
 * The referral steps of each live chat, between the form and the relay (#8): offer →
 * the visitor's answer → (yes to exactly that offer) sign and seal → `referral` frame →
 * `referral_stored` → the code to the visitor. A no, a consent for another offer, or the
 * chat ending seals nothing. Every step is reported to the counsellor as a `chat_referral`
 * event. What the visitor answered is never stored; the draft lives in memory until the
 * referral is stored, declined or the chat ends.
 *
 * The relay's `error` frames name no conversation. It answers a `referral` frame before
 * anything sent after it, so a refusal while a referral awaits its code is taken as that
 * referral's (the same rule as the demo bot).
 */

import type { AppMessage, CounsellorFrame } from '../proto/index.js';
import type { ReferralStatus } from './chats.js';
import type { BrobyggerOffice } from './offices.js';
import { answer, codeMessage, makeOffer, sealConsented } from './referral.js';
import type { Offered, ReferralDraft, SigningIdentity } from './referral.js';
import type { ShiftEvent } from './state.js';

/** What the flow needs from the connection. */
export interface FlowDeps {
  /** Encrypts and sends `msg` in the chat; false when it has no secure session now. */
  readonly sendApp: (conv: string, msg: AppMessage) => boolean;
  /** Sends a frame to the relay; false when the connection is down. */
  readonly sendFrame: (frame: CounsellorFrame) => boolean;
  readonly dispatch: (e: ShiftEvent) => void;
  readonly nowS: () => number;
  /** The identity that signs referrals and the alias its certificate names; none: referrals are off. */
  readonly identity?: SigningIdentity & { readonly alias: string };
}

/** A referral that is not finished. */
type Pending =
  | { readonly step: 'offered'; readonly offered: Offered }
  | { readonly step: 'sealing'; readonly office: BrobyggerOffice }
  | { readonly step: 'sent'; readonly office: BrobyggerOffice; readonly id: string }
  | { readonly step: 'code_unsent'; readonly office: BrobyggerOffice; readonly code: string };

/** Why an offer could not be made. */
export type OfferProblem = 'no_identity' | 'busy' | 'not_secure';

export class ReferralFlow {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: FlowDeps) {}

  private report(conv: string, status: ReferralStatus): void {
    this.deps.dispatch({ type: 'chat_referral', conv, status, nowS: this.deps.nowS() });
  }

  /** Sends the offer for `draft`; a new offer replaces one still unanswered. */
  offer(conv: string, draft: ReferralDraft): OfferProblem | undefined {
    const id = this.deps.identity;
    if (id === undefined) return 'no_identity';
    const p = this.pending.get(conv);
    if (p !== undefined && p.step !== 'offered') return 'busy';
    const { message, offered } = makeOffer(draft, id.alias);
    if (!this.deps.sendApp(conv, message)) return 'not_secure';
    this.pending.set(conv, { step: 'offered', offered });
    this.report(conv, { step: 'offered', officeName: draft.office.name });
    return undefined;
  }

  /** The visitor's `referral_consent`. */
  onConsent(conv: string, consent: { readonly offer_hash: Uint8Array; readonly yes: boolean }): void {
    const p = this.pending.get(conv);
    const offered = p?.step === 'offered' ? p.offered : undefined;
    const a = answer(offered, consent);
    if (a === 'not_this_offer' || offered === undefined) {
      this.report(conv, { step: 'not_this_offer', officeName: offered?.draft.office.name ?? '' });
      return;
    }
    const office = offered.draft.office;
    if (a === 'no') {
      this.pending.delete(conv);
      this.report(conv, { step: 'declined', officeName: office.name });
      return;
    }
    void this.seal(conv, offered, consent, office);
  }

  private async seal(conv: string, offered: Offered, consent: { readonly offer_hash: Uint8Array; readonly yes: boolean },
    office: BrobyggerOffice): Promise<void> {
    const identity = this.deps.identity;
    if (identity === undefined) return;
    const sealing: Pending = { step: 'sealing', office };
    this.pending.set(conv, sealing);
    this.report(conv, { step: 'sealing', officeName: office.name });
    let frame: CounsellorFrame;
    try {
      const s = await sealConsented(offered, consent, identity, this.deps.nowS());
      frame = { t: 'referral', conv, id: s.id, office_id: s.officeId, sealed: s.sealed };
    } catch (e) {
      if (this.pending.get(conv) === sealing) this.pending.delete(conv);
      this.report(conv, { step: 'refused', officeName: office.name, detail: `it could not be sealed (${e instanceof Error ? e.message : 'unknown error'})` });
      return;
    }
    // The chat ended while the key was signing: nothing is sent.
    if (this.pending.get(conv) !== sealing) return;
    if (!this.deps.sendFrame(frame)) {
      this.pending.delete(conv);
      this.report(conv, { step: 'refused', officeName: office.name, detail: 'the connection to the relay is down; nothing was sent' });
      return;
    }
    this.pending.set(conv, { step: 'sent', office, id: frame.t === 'referral' ? frame.id : '' });
    this.report(conv, { step: 'sent', officeName: office.name });
  }

  /** `referral_stored`: the code goes to the visitor with the office's address and hours. */
  onStored(conv: string, code: string): void {
    const p = this.pending.get(conv);
    if (p?.step !== 'sent') return;
    this.pending.delete(conv);
    if (this.deps.sendApp(conv, codeMessage(p.office, code))) {
      this.report(conv, { step: 'stored', officeName: p.office.name, detail: code });
    } else {
      this.pending.set(conv, { step: 'code_unsent', office: p.office, code });
      this.report(conv, { step: 'code_pending', officeName: p.office.name, detail: code });
    }
  }

  /** The chat's session is up again: a code that could not be sent goes now. */
  onSecured(conv: string): void {
    const p = this.pending.get(conv);
    if (p?.step !== 'code_unsent' || !this.deps.sendApp(conv, codeMessage(p.office, p.code))) return;
    this.pending.delete(conv);
    this.report(conv, { step: 'stored', officeName: p.office.name, detail: p.code });
  }

  /** The connection dropped: a referral awaiting its code may or may not have been stored; its answer is lost. */
  onDrop(): void {
    for (const [conv, p] of this.pending) {
      if (p.step !== 'sent') continue;
      this.pending.delete(conv);
      this.report(conv, {
        step: 'refused', officeName: p.office.name,
        detail: 'the connection dropped before the relay confirmed it, so it may or may not be stored and no code was given',
      });
    }
  }

  /** A relay error: the referral awaiting its code (if any) was refused. True if it was taken as one. */
  onError(code: string, message: string): boolean {
    for (const [conv, p] of this.pending) {
      if (p.step !== 'sent') continue;
      this.pending.delete(conv);
      this.report(conv, { step: 'refused', officeName: p.office.name, detail: `${code}: ${message}` });
      return true;
    }
    return false;
  }

  /** The chat ended: an unanswered offer or a referral being sealed is dropped, nothing sent. */
  onEnded(conv: string): void {
    const p = this.pending.get(conv);
    this.pending.delete(conv);
    if (p?.step === 'offered') this.report(conv, { step: 'cancelled', officeName: p.offered.draft.office.name });
    else if (p?.step === 'sealing') this.report(conv, { step: 'cancelled', officeName: p.office.name });
  }

  /** Forgets everything (log out, end of shift). */
  clear(): void {
    this.pending.clear();
  }
}
