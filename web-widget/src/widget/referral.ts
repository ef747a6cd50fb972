/**
 * Brobygger referrals as the visitor sees them (#8): the counsellor's `referral_offer` becomes
 * a consent card showing exactly the offered fields, the visitor's answer goes back as
 * `referral_consent` with the SHA-256 of the offer's exact JSON as received, and a
 * `referral_code` becomes a card with the code, the office's address and reception hours.
 * Pure: no DOM, no storage — the code lives only in the chat's state, like every message.
 */

import { b64DecodeExact, b64Encode, offerHash } from '../proto/index.js';
import type { AppMessage } from '../proto/index.js';
import type { Event } from './state.js';

type OfferMessage = Extract<AppMessage, { k: 'referral_offer' }>;
type CodeMessage = Extract<AppMessage, { k: 'referral_code' }>;

/** The visitor's answer to an offer. */
export type Answer = 'yes' | 'no';

/** An offer as shown: the office and exactly the fields sent, nothing added or left out. */
export interface OfferCard {
  readonly officeId: string;
  readonly officeName: string;
  readonly fields: readonly string[];
  /** base64url SHA-256 of the offer's exact unpadded JSON, as received. */
  readonly hash: string;
  /** Set once the visitor has answered; an offer is answered once. */
  readonly answer?: Answer;
}

/** A code as shown, with where and when to quote it. */
export interface CodeCard {
  readonly code: string;
  readonly officeName: string;
  readonly address: string;
  readonly hours: string;
}

/** The card for an offer, from the parsed message and the exact JSON bytes it came in. */
export function offerCard(msg: OfferMessage, json: Uint8Array): OfferCard {
  return { officeId: msg.office_id, officeName: msg.office_name, fields: [...msg.fields], hash: b64Encode(offerHash(json)) };
}

/** The card for a code. */
export function codeCard(msg: CodeMessage): CodeCard {
  return { code: msg.code, officeName: msg.office_name, address: msg.address, hours: msg.hours };
}

/** The `referral_consent` answering `card`. */
export function consentMessage(card: OfferCard, answer: Answer): AppMessage {
  return { k: 'referral_consent', offer_hash: b64DecodeExact(card.hash, 32, 'offer_hash'), yes: answer === 'yes' };
}

/** `card` with `answer` recorded; `undefined` if it was answered before (the first answer stands). */
export function answered(card: OfferCard, answer: Answer): OfferCard | undefined {
  return card.answer === undefined ? { ...card, answer } : undefined;
}

/**
 * The widget event for a decrypted chat message (`json`: its exact bytes, which a
 * `referral_offer` keeps for `offer_hash`); `undefined` for messages with no event.
 */
export function messageEvent(n: number, msg: AppMessage, json: Uint8Array): Event | undefined {
  switch (msg.k) {
    case 'text':
      return { type: 'received', n, body: msg.body, ts: msg.ts };
    case 'typing':
      return { type: 'peer_typing', on: msg.on };
    case 'read':
      return { type: 'read', upto: msg.upto };
    case 'bye':
      return { type: 'peer_typing', on: false }; // `ended` from the relay follows.
    case 'referral_offer':
      return { type: 'referral_offer', n, offer: offerCard(msg, json) };
    case 'referral_code':
      return { type: 'referral_code', n, code: codeCard(msg) };
    default:
      return undefined;
  }
}
