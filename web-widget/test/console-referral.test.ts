/**
 * The console's side of brobygger referrals (#8): the office list (only certificates that
 * verify), the form's rules, the offer's fields and hash, and the offer → consent → seal
 * steps, which seal nothing without a yes to exactly the offer sent.
 */

import { describe, expect, it } from 'vitest';
import {
  b64Decode, b64Encode, encodeAppMessage, encodeOfficeCertBody, openReferral, openReferralPlaintext, sealedFromWire, signCert,
  x25519Public,
} from '../src/proto/index.js';
import type { AppMessage, CounsellorFrame } from '../src/proto/index.js';
import { brobyggerOffices, searchOffices } from '../src/console/offices.js';
import {
  answer, checkForm, codeMessage, makeOffer, MAX_NOTE_CHARS, offerFields, ReferralRefused, sealConsented, WILL_QUOTE_CODE,
} from '../src/console/referral.js';
import type { ReferralDraft, ReferralForm } from '../src/console/referral.js';
import { ReferralFlow } from '../src/console/referral-flow.js';
import { newChat, reduceChats } from '../src/console/chats.js';
import type { ShiftEvent } from '../src/console/state.js';
import { offerCard } from '../src/widget/referral.js';
import { identity, NOW } from './console-fixtures.js';

const id = identity('Maja');
const officeSecret = crypto.getRandomValues(new Uint8Array(32));

function officeCert(kind: 1 | 2, officeId: string, name: string, seed = id.rootSeed): string {
  return b64Encode(signCert(encodeOfficeCertBody({
    kind, officeId, displayName: name, recipientPub: x25519Public(officeSecret), notBefore: BigInt(NOW - 100), notAfter: BigInt(NOW + 86_400),
  }), seed));
}

const directory = {
  offices: [
    { id: 'bro-aar', kind: 'brobygger', name: 'x', cert: officeCert(1, 'bro-aar', 'Brobygger Aarhus'), municipality: 'Århus', address: 'Gade 2', reception_hours: 'Tue 9-12' },
    { id: 'bro-kbh', kind: 'brobygger', name: 'x', cert: officeCert(1, 'bro-kbh', 'Brobygger København'), municipality: 'København', address: 'Demogade 1', reception_hours: 'Mon-Thu 10-15' },
    { id: 'desk', kind: 'phone_desk', name: 'x', cert: officeCert(2, 'desk', 'Telefon') },
    { id: 'bro-fake', kind: 'brobygger', name: 'x', cert: officeCert(1, 'bro-fake', 'Fake', crypto.getRandomValues(new Uint8Array(32))) },
    { id: 'bro-other', kind: 'brobygger', name: 'x', cert: officeCert(1, 'bro-kbh', 'Brobygger København') },
    { id: 'bro-odense', kind: 'brobygger', cert: 'not base64!' },
  ],
};
const offices = brobyggerOffices(directory, id.root, NOW);
const kbh = offices.find((o) => o.id === 'bro-kbh')!;

const form = (over: Partial<ReferralForm> = {}): ReferralForm => ({
  officeId: 'bro-kbh', needs: ['social', 'health'], contactMode: 'code', contact: '', language: 'da', interpreter: false, safety: '', note: '',
  ...over,
});

function draftOf(over: Partial<ReferralForm> = {}): ReferralDraft {
  const r = checkForm(form(over), offices);
  if (!r.ok) throw new Error(r.problems.join());
  return r.draft;
}

describe('the office list', () => {
  /** Only brobygger certificates that verify against the org root and name their entry's id are listed, with the entry's details. */
  it('keeps verified brobygger offices only', () => {
    // Sorted by municipality in Danish order: Å comes last.
    expect(offices.map((o) => o.id)).toEqual(['bro-kbh', 'bro-aar']);
    expect(kbh).toMatchObject({ name: 'Brobygger København', municipality: 'København', address: 'Demogade 1', hours: 'Mon-Thu 10-15' });
    expect(brobyggerOffices({ offices: 'nope' }, id.root, NOW)).toEqual([]);
    expect(brobyggerOffices(directory, id.root, NOW + 2 * 86_400)).toEqual([]);
  });

  /** Searching by municipality ignores case and Danish letters typed plainly. */
  it('finds offices by municipality', () => {
    expect(searchOffices(offices, 'kobenhavn').map((o) => o.id)).toEqual(['bro-kbh']);
    expect(searchOffices(offices, 'AARHUS').map((o) => o.id)).toEqual(['bro-aar']);
    expect(searchOffices(offices, '  ').length).toBe(2);
    expect(searchOffices(offices, 'odense')).toEqual([]);
  });
});

describe('the referral form', () => {
  /** A filled form becomes a draft with needs in the list's order and "will quote the code" as contact. */
  it('accepts a good form', () => {
    const d = draftOf({ safety: ' no voicemail\n', note: 'line 1\nline 2' });
    expect(d.needs).toEqual(['health', 'social']);
    expect(d.contact).toBe(WILL_QUOTE_CODE);
    expect(d.safety).toBe('no voicemail');
    expect(d.note).toBe('line 1\nline 2');
  });

  /** Each rule gives its own problem. */
  it('refuses what the office would refuse', () => {
    const problems = (over: Partial<ReferralForm>): string[] => {
      const r = checkForm(form(over), offices);
      return r.ok ? [] : r.problems;
    };
    expect(problems({ officeId: 'bro-fake' })).toEqual(['office_required']);
    expect(problems({ needs: [] })).toEqual(['needs_required']);
    expect(problems({ needs: ['health', 'money'] })).toEqual(['unknown_need']);
    expect(problems({ contactMode: 'contact', contact: '  ' })).toEqual(['contact_required']);
    expect(problems({ contactMode: 'contact', contact: 'x'.repeat(201) })).toEqual(['contact_too_long']);
    expect(problems({ language: '' })).toEqual(['language_required']);
    expect(problems({ safety: 'x'.repeat(201) })).toEqual(['safety_too_long']);
    expect(problems({ note: 'x'.repeat(MAX_NOTE_CHARS + 1) })).toEqual(['note_too_long']);
    // Characters as Rust counts them: 500 emoji (1000 UTF-16 units) are a valid note.
    expect(problems({ note: '🙂'.repeat(MAX_NOTE_CHARS) })).toEqual([]);
    expect(problems({ officeId: '', needs: [], language: ' ' })).toEqual(['office_required', 'needs_required', 'language_required']);
  });
});

describe('the offer', () => {
  /** The visitor sees every field of R that says something, in plain words. */
  it('shows exactly the fields of R', () => {
    expect(offerFields(draftOf(), 'Maja')).toEqual([
      'Needs: health, social', 'Contact: will quote the code (no phone number, no e-mail)', 'Language: da', 'Interpreter: no', 'Counsellor: Maja',
    ]);
    expect(offerFields(draftOf({ contactMode: 'contact', contact: 'SMS', interpreter: true, safety: 'no voicemail', note: 'hi' }), 'Maja')).toEqual([
      'Needs: health, social', 'Contact: SMS', 'Language: da', 'Interpreter: yes', 'Safety: no voicemail', 'Note: hi', 'Counsellor: Maja',
    ]);
  });

  /** The console's hash of its offer is the widget's hash of the JSON it receives. */
  it('hashes the exact JSON the widget hashes', () => {
    const { message, offered } = makeOffer(draftOf(), 'Maja');
    if (message.k !== 'referral_offer') throw new Error('not an offer');
    expect(b64Encode(offered.hash)).toBe(offerCard(message, encodeAppMessage(message)).hash);
  });

  /** An answer counts only for the offer waiting, by its hash. */
  it('matches answers by hash', () => {
    const { offered } = makeOffer(draftOf(), 'Maja');
    const other = makeOffer(draftOf({ needs: ['work'] }), 'Maja').offered;
    expect(answer(offered, { offer_hash: offered.hash, yes: true })).toBe('yes');
    expect(answer(offered, { offer_hash: offered.hash, yes: false })).toBe('no');
    expect(answer(offered, { offer_hash: other.hash, yes: true })).toBe('not_this_offer');
    expect(answer(undefined, { offer_hash: offered.hash, yes: true })).toBe('not_this_offer');
  });
});

describe('sealing', () => {
  const signing = { sign: (m: Uint8Array) => id.signer.sign(m), idCert: id.idCert };

  /** No yes, or a yes to another offer: nothing is sealed. */
  it('refuses without a yes to exactly the offer sent', async () => {
    const { offered } = makeOffer(draftOf(), 'Maja');
    const other = makeOffer(draftOf({ language: 'en' }), 'Maja').offered;
    await expect(sealConsented(offered, { offer_hash: offered.hash, yes: false }, signing, NOW)).rejects.toEqual(new ReferralRefused('no_consent'));
    await expect(sealConsented(offered, { offer_hash: other.hash, yes: true }, signing, NOW)).rejects.toEqual(new ReferralRefused('hash_mismatch'));
  });

  /** With a yes, the office opens the envelope, the signature verifies under Maja's certificate and R holds the form. */
  it('seals a referral the office opens', async () => {
    const d = draftOf({ contactMode: 'contact', contact: 'SMS mornings', language: 'th', interpreter: true, safety: 'no voicemail', note: 'ok' });
    const { offered } = makeOffer(d, 'Maja');
    const s = await sealConsented(offered, { offer_hash: offered.hash, yes: true }, signing, NOW);
    const rid = b64Decode(s.id);
    expect(rid.length).toBe(16);
    const plaintext = openReferral('bro-kbh', officeSecret, rid, sealedFromWire(s.sealed));
    const opened = openReferralPlaintext(id.root, 'bro-kbh', rid, plaintext, NOW);
    expect(opened.signer.alias).toBe('Maja');
    const r = JSON.parse(new TextDecoder().decode(opened.body)) as Record<string, unknown>;
    expect(r).toEqual({
      referral_id: s.id, created_at: NOW, office_id: 'bro-kbh', counsellor_alias: 'Maja', contact: 'SMS mornings', language: 'th',
      interpreter: true, needs: ['health', 'social'], note: 'ok', safety: 'no voicemail',
      consent: { text_version: 1, ts: NOW, offer_hash: b64Encode(offered.hash) },
    });
    expect(() => openReferral('bro-aar', officeSecret, rid, sealedFromWire(s.sealed))).toThrow();
  });

  /** The code message carries the office's address and hours. */
  it('gives the code with where to quote it', () => {
    expect(codeMessage(kbh, 'BRO-AAAA-BBBB')).toEqual({ k: 'referral_code', code: 'BRO-AAAA-BBBB', office_name: 'Brobygger København', address: 'Demogade 1', hours: 'Mon-Thu 10-15' });
  });
});

/** A flow with recorded messages, frames and events; `sign` may be held back to end the chat meanwhile. */
function harness(sign = (m: Uint8Array) => id.signer.sign(m)) {
  const messages: { conv: string; msg: AppMessage }[] = [];
  const frames: CounsellorFrame[] = [];
  const events: ShiftEvent[] = [];
  let secure = true;
  const flow = new ReferralFlow({
    sendApp: (conv, msg) => {
      if (secure) messages.push({ conv, msg });
      return secure;
    },
    sendFrame: (f) => {
      frames.push(f);
      return true;
    },
    dispatch: (e) => events.push(e),
    nowS: () => NOW,
    identity: { sign, idCert: id.idCert, alias: 'Maja' },
  });
  const steps = (): string[] => events.flatMap((e) => (e.type === 'chat_referral' ? [e.status.step] : []));
  const offerHash = (): Uint8Array => {
    const last = [...messages].reverse().find((m) => m.msg.k === 'referral_offer');
    if (last === undefined) throw new Error('no offer');
    return hashOf(last.msg);
  };
  return { flow, messages, frames, events, steps, offerHash, setSecure: (v: boolean) => { secure = v; } };
}

function hashOf(msg: AppMessage): Uint8Array {
  if (msg.k !== 'referral_offer') throw new Error('not an offer');
  return b64Decode(offerCard(msg, encodeAppMessage(msg)).hash);
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('the referral steps of a chat', () => {
  /** Offer, a consent for another hash (ignored), yes → sealed and sent → stored → the code to the visitor. */
  it('seals and sends only after a yes to the offer sent', async () => {
    const t = harness();
    expect(t.flow.offer('c1', draftOf())).toBeUndefined();
    const hash = t.offerHash();
    t.flow.onConsent('c1', { offer_hash: new Uint8Array(32), yes: true });
    await flush();
    expect(t.frames).toEqual([]);
    t.flow.onConsent('c1', { offer_hash: hash, yes: true });
    await flush();
    expect(t.frames.map((f) => f.t)).toEqual(['referral']);
    const frame = t.frames[0] as Extract<CounsellorFrame, { t: 'referral' }>;
    expect(frame).toMatchObject({ conv: 'c1', office_id: 'bro-kbh' });
    expect(t.flow.offer('c1', draftOf())).toBe('busy');
    t.flow.onStored('c1', 'BRO-1234-5678');
    expect(t.messages.at(-1)).toEqual({ conv: 'c1', msg: codeMessage(kbh, 'BRO-1234-5678') });
    expect(t.steps()).toEqual(['offered', 'not_this_offer', 'sealing', 'sent', 'stored']);
    // The same consent again opens nothing new.
    t.flow.onConsent('c1', { offer_hash: hash, yes: true });
    await flush();
    expect(t.frames.length).toBe(1);
  });

  /** A no seals nothing, and a later yes to that offer is not taken. */
  it('seals nothing on a no', async () => {
    const t = harness();
    t.flow.offer('c1', draftOf());
    const hash = t.offerHash();
    t.flow.onConsent('c1', { offer_hash: hash, yes: false });
    t.flow.onConsent('c1', { offer_hash: hash, yes: true });
    await flush();
    expect(t.frames).toEqual([]);
    expect(t.steps()).toEqual(['offered', 'declined', 'not_this_offer']);
  });

  /** A new offer replaces the old one: a yes to the old hash seals nothing. */
  it('takes only the latest offer', async () => {
    const t = harness();
    t.flow.offer('c1', draftOf());
    const old = t.offerHash();
    t.flow.offer('c1', draftOf({ needs: ['work'] }));
    t.flow.onConsent('c1', { offer_hash: old, yes: true });
    await flush();
    expect(t.frames).toEqual([]);
    t.flow.onConsent('c1', { offer_hash: t.offerHash(), yes: true });
    await flush();
    expect(t.frames.length).toBe(1);
  });

  /** The chat ends while the key is signing: nothing is sent. An unanswered offer is cancelled. */
  it('sends nothing for a chat that ended', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => { release = r; });
    const t = harness(async (m) => {
      await held;
      return id.signer.sign(m);
    });
    t.flow.offer('c1', draftOf());
    t.flow.onConsent('c1', { offer_hash: t.offerHash(), yes: true });
    t.flow.onEnded('c1');
    release();
    await flush();
    await flush();
    expect(t.frames).toEqual([]);
    t.flow.offer('c2', draftOf());
    t.flow.onEnded('c2');
    expect(t.steps()).toEqual(['offered', 'sealing', 'cancelled', 'offered', 'cancelled']);
  });

  /** A relay refusal while the referral awaits its code is shown with its reason; no code goes to the visitor. */
  it('reports the relay refusing', async () => {
    const t = harness();
    expect(t.flow.onError('forbidden', 'x')).toBe(false);
    t.flow.offer('c1', draftOf());
    t.flow.onConsent('c1', { offer_hash: t.offerHash(), yes: true });
    await flush();
    expect(t.flow.onError('not_found', 'no such brobygger office')).toBe(true);
    const last = t.events.at(-1);
    expect(last).toMatchObject({ type: 'chat_referral', status: { step: 'refused', detail: 'not_found: no such brobygger office' } });
    t.flow.onStored('c1', 'BRO-1234-5678');
    expect(t.messages.some((m) => m.msg.k === 'referral_code')).toBe(false);
  });

  /** A code that cannot go out at once (the session is being renewed) goes when it is secure again. */
  it('gives the code once the chat is secure again', async () => {
    const t = harness();
    t.flow.offer('c1', draftOf());
    t.flow.onConsent('c1', { offer_hash: t.offerHash(), yes: true });
    await flush();
    t.setSecure(false);
    t.flow.onStored('c1', 'BRO-1234-5678');
    t.setSecure(true);
    t.flow.onSecured('c1');
    expect(t.messages.filter((m) => m.msg.k === 'referral_code').length).toBe(1);
    t.flow.onSecured('c1');
    expect(t.messages.filter((m) => m.msg.k === 'referral_code').length).toBe(1);
    expect(t.steps()).toEqual(['offered', 'sealing', 'sent', 'code_pending', 'stored']);
  });

  /** The connection drops while a referral awaits its code: the counsellor is told it may or may not be stored. */
  it('says so when the answer is lost with the connection', async () => {
    const t = harness();
    t.flow.offer('c1', draftOf());
    t.flow.onConsent('c1', { offer_hash: t.offerHash(), yes: true });
    await flush();
    t.flow.onDrop();
    expect(t.events.at(-1)).toMatchObject({ type: 'chat_referral', status: { step: 'refused', detail: expect.stringContaining('may or may not be stored') } });
    expect(t.flow.offer('c1', draftOf())).toBeUndefined();
  });

  /** Without a secure session no offer goes out. */
  it('needs a secure chat to offer', () => {
    const t = harness();
    t.setSecure(false);
    expect(t.flow.offer('c1', draftOf())).toBe('not_secure');
    expect(t.steps()).toEqual([]);
  });
});

describe('a chat\'s referral status', () => {
  /** Each step becomes the chat's status and a note in its log; an answer to another offer is noted without changing the status. */
  it('records each step', () => {
    let chats = reduceChats([], { type: 'chat_accepted', conv: 'c1', queue: 'da/exit' });
    const step = (s: 'offered' | 'not_this_offer' | 'stored', detail?: string): void => {
      chats = reduceChats(chats, { type: 'chat_referral', conv: 'c1', status: { step: s, officeName: 'Bro', ...(detail === undefined ? {} : { detail }) }, nowS: NOW });
    };
    step('offered');
    step('not_this_offer');
    expect(chats[0]?.referral).toEqual({ step: 'offered', officeName: 'Bro' });
    step('stored', 'BRO-1234-5678');
    expect(chats[0]?.referral?.detail).toBe('BRO-1234-5678');
    expect(chats[0]?.lines.map((l) => [l.note, l.text])).toEqual([
      ['referral_offered', 'Bro'], ['referral_not_this_offer', 'Bro'], ['referral_stored', 'BRO-1234-5678'],
    ]);
    expect(newChat('x', 'da/exit').referral).toBeUndefined();
  });
});
