/** Referrals as the visitor sees them: the consent card's data, the answer, the code card, and how they enter the chat state. */

import { describe, expect, it } from 'vitest';
import { b64Encode, encodeAppMessage, offerHash, parseAppMessage } from '../src/proto/index.js';
import type { AppMessage } from '../src/proto/index.js';
import { answered, codeCard, consentMessage, offerCard } from '../src/widget/referral.js';
import { initialState, reduce } from '../src/widget/state.js';
import type { Event, State, StatusInfo } from '../src/widget/state.js';
import { transcript } from '../src/widget/transcript.js';

const offer: AppMessage = {
  k: 'referral_offer', office_id: 'bro-kbh', office_name: 'Brobygger København',
  fields: ['Needs: health, social', 'Contact: will quote the code', 'Language: da'],
};
const code: AppMessage = { k: 'referral_code', code: 'BRO-4KQ7-9MXC', office_name: 'Brobygger København', address: 'Demogade 1', hours: 'Mon-Thu 10-15' };

const status: StatusInfo = { open: true, hours: 'always', phone: { number: '+45 00', hours: '9-21' }, queues: [{ id: 'da/exit', names: { da: 'Ud' }, etaS: 0 }] };
const run = (events: Event[], from: State = initialState('en')): State => events.reduce(reduce, from);
const chatting = (): State => run([
  { type: 'status', status }, { type: 'join', queue: 'da/exit' }, { type: 'queued', position: 1, etaS: 0 },
  { type: 'assigned' }, { type: 'secured', alias: 'Ali', safetyCode: '123456' },
]);

function card(msg: AppMessage = offer, json = encodeAppMessage(msg)) {
  if (msg.k !== 'referral_offer') throw new Error('not an offer');
  return offerCard(msg, json);
}

describe('referral cards', () => {
  /** The card holds exactly the offered fields, in order, and the hash of the bytes as received — not of a re-encoding. */
  it('keeps the fields and hashes the exact bytes', () => {
    const canonical = encodeAppMessage(offer);
    expect(card()).toEqual({
      officeId: 'bro-kbh', officeName: 'Brobygger København', fields: ['Needs: health, social', 'Contact: will quote the code', 'Language: da'],
      hash: b64Encode(offerHash(canonical)),
    });
    const spaced = new TextEncoder().encode('{"k":"referral_offer","office_id":"bro-kbh","office_name":"Brobygger K\\u00f8benhavn","fields":["Needs: health, social","Contact: will quote the code","Language: da"]}');
    const parsed = parseAppMessage(spaced);
    expect(parsed).toEqual(offer);
    const other = card(parsed, spaced);
    expect(other.fields).toEqual(card().fields);
    expect(other.hash).toBe(b64Encode(offerHash(spaced)));
    expect(other.hash).not.toBe(card().hash);
  });

  /** An offer with no fields shows none — nothing is added. */
  it('adds nothing to an empty offer', () => {
    expect(card({ k: 'referral_offer', office_id: 'x', office_name: 'X', fields: [] }).fields).toEqual([]);
  });

  /** Yes and no go back as `referral_consent` with the offer's 32-byte hash. */
  it('answers with the hash', () => {
    const c = card();
    const yes = consentMessage(c, 'yes');
    expect(yes).toEqual({ k: 'referral_consent', offer_hash: offerHash(encodeAppMessage(offer)), yes: true });
    expect(consentMessage(c, 'no')).toMatchObject({ k: 'referral_consent', yes: false });
    expect(new TextDecoder().decode(encodeAppMessage(yes))).toBe(`{"k":"referral_consent","offer_hash":"${c.hash}","yes":true}`);
  });

  /** The first answer stands. */
  it('is answered once', () => {
    const yes = answered(card(), 'yes');
    expect(yes?.answer).toBe('yes');
    expect(answered(yes!, 'no')).toBeUndefined();
  });

  /** The code card carries the code with the office's name, address and hours. */
  it('makes the code card', () => {
    if (code.k !== 'referral_code') throw new Error('not a code');
    expect(codeCard(code)).toEqual({ code: 'BRO-4KQ7-9MXC', officeName: 'Brobygger København', address: 'Demogade 1', hours: 'Mon-Thu 10-15' });
  });
});

describe('referrals in the chat state', () => {
  const offerEvent: Event = { type: 'referral_offer', n: 3, offer: card() };
  const codeEvent: Event = { type: 'referral_code', n: 5, code: { code: 'BRO-4KQ7-9MXC', officeName: 'Brobygger København', address: 'Demogade 1', hours: 'Mon-Thu 10-15' } };

  /** An offer becomes one line (a replay does not add another), announced; the answer is recorded once; the code follows. */
  it('shows, answers and keeps the code in the chat', () => {
    let s = reduce(chatting(), offerEvent);
    s = reduce(s, offerEvent);
    const offers = s.lines.filter((l) => l.who === 'offer');
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({ id: 'them:1:3', offer: card() });
    expect(s.announce).toEqual({ key: 'referralOfferAnnounce', vars: { office: 'Brobygger København' } });

    s = reduce(s, { type: 'referral_answered', id: 'them:1:3', answer: 'yes' });
    expect(s.lines.find((l) => l.id === 'them:1:3')?.offer?.answer).toBe('yes');
    const again = reduce(s, { type: 'referral_answered', id: 'them:1:3', answer: 'no' });
    expect(again).toBe(s);
    expect(reduce(s, { type: 'referral_answered', id: 'them:1:99', answer: 'no' })).toBe(s);

    s = reduce(s, codeEvent);
    expect(s.lines.at(-1)).toMatchObject({ id: 'them:1:5', who: 'code', code: { code: 'BRO-4KQ7-9MXC' } });
    // The chat ends: the lines (and so the code) stay for the visitor's own download only.
    s = reduce(s, { type: 'ended', reason: 'counsellor' });
    expect(s.lines.some((l) => l.code?.code === 'BRO-4KQ7-9MXC')).toBe(true);
  });

  /** Outside a chat, offers and codes are ignored. */
  it('ignores them outside a chat', () => {
    const start = initialState('en');
    expect(reduce(start, offerEvent)).toBe(start);
    expect(reduce(start, codeEvent)).toBe(start);
  });

  /** The downloaded conversation says what was offered, the answer, and the code with where to quote it. */
  it('is in the transcript', () => {
    const s = run([offerEvent, { type: 'referral_answered', id: 'them:1:3', answer: 'no' }, codeEvent], chatting());
    const text = transcript('en', 'Ali', s.lines);
    expect(text).toContain('[Ali suggests a referral to Brobygger København: Needs: health, social; Contact: will quote the code; Language: da. You said no. Nothing was sent.]');
    expect(text).toContain('[Your code for Brobygger København: BRO-4KQ7-9MXC. Address: Demogade 1. Reception hours: Mon-Thu 10-15]');
  });
});
