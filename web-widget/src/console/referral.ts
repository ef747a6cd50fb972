/**
 * A brobygger referral from the console (#8, PROTOCOL.md §4), as pure steps:
 *
 * 1. {@link checkForm}: the counsellor's form — office, needs, contact wish, language and
 *    interpreter, safety constraints, a short note — checked by the rules of Rust's
 *    `Referral::check_fields`.
 * 2. {@link makeOffer}: the `referral_offer` the visitor sees: in plain words exactly the
 *    fields `R` will hold, and the SHA-256 of its exact JSON.
 * 3. {@link answer}: the visitor's `referral_consent` — a no ends it, a yes counts only for the
 *    hash of exactly the offer sent.
 * 4. {@link sealConsented}: only after that yes, `R` is written, signed with the console's
 *    identity key (inside the envelope, with the identity certificate) and sealed with HPKE
 *    to the office's certified key. It refuses without a matching yes.
 */

import {
  b64Encode, encodeAppMessage, offerHash, sealedToWire, sealReferral, signReferralPlaintext,
} from '../proto/index.js';
import type { AppMessage, ReferralSigner, WireSealed } from '../proto/index.js';
import type { BrobyggerOffice } from './offices.js';

/** The needs a referral can name (Rust's `NEEDS`): what a brobygger clarifies, then the rest. */
export const NEEDS = ['health', 'social', 'work', 'housing', 'legal', 'safety', 'psychologist', 'bisidder'] as const;
export type Need = (typeof NEEDS)[number];
/** Longest note, in characters. */
export const MAX_NOTE_CHARS = 500;
/** Longest contact wish, language or safety constraint, in characters. */
export const MAX_FIELD_CHARS = 200;
/** `contact` when the person will come in and quote the code. */
export const WILL_QUOTE_CODE = 'will quote the code';
/** The version of the consent text the widget shows (recorded in `R`). */
export const CONSENT_TEXT_VERSION = 1;

/** What the counsellor filled in. */
export interface ReferralForm {
  readonly officeId: string;
  readonly needs: readonly string[];
  /** `code`: the person will quote the code; `contact`: reach them as {@link contact} says. */
  readonly contactMode: 'code' | 'contact';
  readonly contact: string;
  readonly language: string;
  readonly interpreter: boolean;
  readonly safety: string;
  readonly note: string;
}

/** The fields of `R` the form decides (the rest is added when sealing). */
export interface ReferralDraft {
  readonly office: BrobyggerOffice;
  readonly needs: readonly Need[];
  readonly contact: string;
  readonly language: string;
  readonly interpreter: boolean;
  readonly safety: string;
  readonly note: string;
}

/** Why a form cannot be offered. */
export type FormProblem =
  | 'office_required' | 'needs_required' | 'unknown_need' | 'contact_required' | 'contact_too_long'
  | 'language_required' | 'language_too_long' | 'safety_too_long' | 'note_too_long';

/** Characters as Rust counts them (Unicode scalar values). */
export function chars(s: string): number {
  return [...s].length;
}

/** Trims and turns control characters (line breaks too, except in the note) into spaces. */
function clean(s: string, keepLines = false): string {
  const re = keepLines ? /[\u0000-\u0009\u000b-\u001f\u007f]/g : /\p{Cc}/gu;
  return s.replace(re, ' ').trim();
}

/**
 * Checks the form against the offices on offer. At least one need is required (a referral
 * says what it is for), a contact wish unless the person will quote the code, and a
 * language; lengths are Rust's. Returns the draft, or every problem found.
 */
export function checkForm(form: ReferralForm, offices: readonly BrobyggerOffice[]):
  { ok: true; draft: ReferralDraft } | { ok: false; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const office = offices.find((o) => o.id === form.officeId);
  if (office === undefined) problems.push('office_required');
  const needs = NEEDS.filter((n) => form.needs.includes(n));
  if (form.needs.some((n) => !(NEEDS as readonly string[]).includes(n))) problems.push('unknown_need');
  else if (needs.length === 0) problems.push('needs_required');
  const contact = form.contactMode === 'code' ? WILL_QUOTE_CODE : clean(form.contact);
  if (contact === '') problems.push('contact_required');
  else if (chars(contact) > MAX_FIELD_CHARS) problems.push('contact_too_long');
  const language = clean(form.language);
  if (language === '') problems.push('language_required');
  else if (chars(language) > MAX_FIELD_CHARS) problems.push('language_too_long');
  const safety = clean(form.safety);
  if (chars(safety) > MAX_FIELD_CHARS) problems.push('safety_too_long');
  const note = clean(form.note, true);
  if (chars(note) > MAX_NOTE_CHARS) problems.push('note_too_long');
  if (office === undefined || problems.length > 0) return { ok: false, problems };
  return { ok: true, draft: { office, needs, contact, language, interpreter: form.interpreter, safety, note } };
}

/**
 * The offer's fields in plain words: every field of `R` that carries something about the
 * person, and who refers. Empty safety and note are left out (they are empty in `R` too).
 */
export function offerFields(d: ReferralDraft, alias: string): string[] {
  return [
    `Needs: ${d.needs.join(', ')}`,
    d.contact === WILL_QUOTE_CODE ? `Contact: ${WILL_QUOTE_CODE} (no phone number, no e-mail)` : `Contact: ${d.contact}`,
    `Language: ${d.language}`,
    `Interpreter: ${d.interpreter ? 'yes' : 'no'}`,
    ...(d.safety === '' ? [] : [`Safety: ${d.safety}`]),
    ...(d.note === '' ? [] : [`Note: ${d.note}`]),
    `Counsellor: ${alias}`,
  ];
}

/** An offer sent and waiting for the visitor's answer. */
export interface Offered {
  readonly draft: ReferralDraft;
  readonly alias: string;
  /** SHA-256 of the offer's exact JSON as sent. */
  readonly hash: Uint8Array;
}

/** The `referral_offer` for `draft` and what to keep until the visitor answers. */
export function makeOffer(draft: ReferralDraft, alias: string): { message: AppMessage; offered: Offered } {
  const message: AppMessage = {
    k: 'referral_offer', office_id: draft.office.id, office_name: draft.office.name, fields: offerFields(draft, alias),
  };
  return { message, offered: { draft, alias, hash: offerHash(encodeAppMessage(message)) } };
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** What a `referral_consent` means for the offer waiting (if any). */
export type Answer = 'yes' | 'no' | 'not_this_offer';

/** The visitor's answer: `not_this_offer` when nothing waits or the hash is another offer's. */
export function answer(offered: Offered | undefined, consent: { readonly offer_hash: Uint8Array; readonly yes: boolean }): Answer {
  if (offered === undefined || !sameHash(offered.hash, consent.offer_hash)) return 'not_this_offer';
  return consent.yes ? 'yes' : 'no';
}

/** Why {@link sealConsented} refused. */
export class ReferralRefused extends Error {
  constructor(readonly reason: 'no_consent' | 'hash_mismatch') {
    super(reason === 'no_consent' ? 'the visitor did not say yes' : 'the consent is for another offer');
    this.name = 'ReferralRefused';
  }
}

/** The counsellor's signing identity: the key's signer and its certificate. */
export interface SigningIdentity {
  readonly sign: ReferralSigner;
  readonly idCert: Uint8Array;
}

/** The `referral` frame's fields. */
export interface SealedReferral {
  /** 16 random bytes, base64url: the HPKE `aad`, inside `R` and under the signature. */
  readonly id: string;
  readonly officeId: string;
  readonly sealed: WireSealed;
}

/**
 * Writes `R` for `offered`, signs and seals it — only for a yes to exactly that offer
 * (throws {@link ReferralRefused} otherwise). `nowS` stamps `created_at` and the consent.
 */
export async function sealConsented(offered: Offered, consent: { readonly offer_hash: Uint8Array; readonly yes: boolean },
  identity: SigningIdentity, nowS: number, id: Uint8Array = crypto.getRandomValues(new Uint8Array(16))): Promise<SealedReferral> {
  if (!sameHash(offered.hash, consent.offer_hash)) throw new ReferralRefused('hash_mismatch');
  if (!consent.yes) throw new ReferralRefused('no_consent');
  const d = offered.draft;
  const r = {
    referral_id: b64Encode(id), created_at: nowS, office_id: d.office.id, counsellor_alias: offered.alias, contact: d.contact,
    language: d.language, interpreter: d.interpreter, needs: [...d.needs], note: d.note, safety: d.safety,
    consent: { text_version: CONSENT_TEXT_VERSION, ts: nowS, offer_hash: b64Encode(offered.hash) },
  };
  const body = new TextEncoder().encode(JSON.stringify(r));
  const plaintext = await signReferralPlaintext(identity.sign, identity.idCert, d.office.id, id, body);
  try {
    return { id: b64Encode(id), officeId: d.office.id, sealed: sealedToWire(sealReferral(d.office.id, d.office.recipientPub, id, plaintext)) };
  } finally {
    plaintext.fill(0);
    body.fill(0);
  }
}

/** The `referral_code` for the visitor: the code and where and when to quote it. */
export function codeMessage(office: BrobyggerOffice, code: string): AppMessage {
  return { k: 'referral_code', code, office_name: office.name, address: office.address, hours: office.hours };
}
