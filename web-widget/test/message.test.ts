import { describe, expect, it } from 'vitest';
import { b64Encode } from '../src/proto/b64.js';
import type { AppMessage } from '../src/proto/message.js';
import { encodeAppMessage, offerHash, parseAppMessage, receiveMessage, sendMessage } from '../src/proto/message.js';
import { Initiator, prologue, respondHandshake } from '../src/proto/noise.js';
import { pad } from '../src/proto/pad.js';
import { CipherState, Session } from '../src/proto/session.js';
import { b64, errorCode, loadVector, utf8 } from './vectors.js';

const certs = loadVector<{ counsellor: { shift_secret: string; shift_public: string } }>('certs.json');

/** A fresh visitor/counsellor session pair over the vector shift key. */
function pair(): { v: Session; c: Session } {
  const p = prologue(crypto.getRandomValues(new Uint8Array(16)), crypto.getRandomValues(new Uint8Array(32)));
  const { initiator, msg1 } = Initiator.start(b64(certs.counsellor.shift_public), p);
  const { session, msg2 } = respondHandshake(b64(certs.counsellor.shift_secret), p, msg1);
  return { v: initiator.readMessage2(msg2), c: session };
}

/** A pair whose visitor has already said hello. */
function greeted(): { v: Session; c: Session } {
  const s = pair();
  const hello = sendMessage(s.v, { k: 'hello' });
  expect(receiveMessage(s.c, hello.n, hello.ct).message).toEqual({ k: 'hello' });
  return s;
}

const text = (body: string): AppMessage => ({ k: 'text', body, ts: 1_800_000_000 });
const parse = (json: string): AppMessage => parseAppMessage(utf8(json));
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('application message JSON', () => {
  /** serde_json's exact bytes: "k" first, fields in declaration order, same escapes. */
  it('encodes as serde_json does', () => {
    expect(dec(encodeAppMessage({ k: 'hello' }))).toBe('{"k":"hello"}');
    expect(dec(encodeAppMessage({ k: 'text', body: 'hej', ts: 5 }))).toBe('{"k":"text","body":"hej","ts":5}');
    expect(dec(encodeAppMessage({ k: 'text', body: 'a"\\\n\u0001\u007f/\u2028ø😀', ts: 0 })))
      .toBe('{"k":"text","body":"a\\"\\\\\\n\\u0001\u007f/\u2028ø😀","ts":0}');
    expect(dec(encodeAppMessage({ k: 'typing', on: false }))).toBe('{"k":"typing","on":false}');
    expect(dec(encodeAppMessage({ k: 'read', upto: 7 }))).toBe('{"k":"read","upto":7}');
    expect(dec(encodeAppMessage({ k: 'referral_offer', office_id: 'kbh', office_name: 'K', fields: ['a', 'b'] })))
      .toBe('{"k":"referral_offer","office_id":"kbh","office_name":"K","fields":["a","b"]}');
    expect(dec(encodeAppMessage({ k: 'referral_consent', offer_hash: new Uint8Array(32).fill(255), yes: true })))
      .toBe(`{"k":"referral_consent","offer_hash":"${'_'.repeat(42)}8","yes":true}`);
    expect(dec(encodeAppMessage({ k: 'referral_code', code: 'BRO-1', office_name: 'K', address: 'A', hours: 'H' })))
      .toBe('{"k":"referral_code","code":"BRO-1","office_name":"K","address":"A","hours":"H"}');
    expect(dec(encodeAppMessage({ k: 'bye', reason: 'ended' }))).toBe('{"k":"bye","reason":"ended"}');
  });

  /** Every kind round-trips; field order on input does not matter. */
  it('round-trips every kind', () => {
    const all: AppMessage[] = [
      { k: 'hello' }, text('x'), { k: 'typing', on: true }, { k: 'read', upto: 0 },
      { k: 'referral_offer', office_id: 'o', office_name: 'n', fields: [] },
      { k: 'referral_consent', offer_hash: offerHash(utf8('{}')), yes: false },
      { k: 'referral_code', code: 'c', office_name: 'n', address: 'a', hours: 'h' }, { k: 'bye', reason: 'r' },
    ];
    for (const m of all) expect(parseAppMessage(encodeAppMessage(m))).toEqual(m);
    expect(parse('{"body":"a","ts":1,"k":"text"}')).toEqual({ k: 'text', body: 'a', ts: 1 });
  });

  /** Unknown kinds and fields, missing fields, wrong types, duplicates and non-JSON are refused. */
  it.each([
    '{"k":"hello","x":1}', '{"k":"text","body":"a","ts":1,"x":2}', '{"k":"nope"}', '{"k":"text","body":"a"}',
    '{"body":"a","ts":1}', '{"k":"text","body":"a","ts":-1}', '{"k":"text","body":"a","ts":1.0}',
    '{"k":"text","body":"a","ts":1e3}', '{"k":"text","body":"a","ts":"1"}', '{"k":"typing","on":1}',
    '{"k":"read","upto":18446744073709551616}', '{"k":"hello","k":"hello"}', '{"k":"text","body":"a","body":"b","ts":1}',
    '{"k":"referral_offer","office_id":"o","office_name":"n","fields":[1]}',
    '{"k":"referral_consent","offer_hash":"AAAA","yes":true}', `{"k":"referral_consent","offer_hash":"${'A'.repeat(43)}=","yes":true}`,
    '{"k":"text","body":"\\ud800","ts":1}', '{"k":"hello"} x', '\ufeff{"k":"hello"}', '[]', 'null', '', '{"k":"hello",}',
    '{"k":"text","body":"a\u0001","ts":1}', '{"k":null}',
    // serde's internally tagged enums also accept a sequence with the tag first; Rust takes
    // these two, TypeScript deliberately does not (no honest peer sends them).
    '["hello"]', '["text","a",5]',
  ])('refuses %s', (json) => {
    expect(errorCode(() => parse(json))).toBe('message');
  });

  /** Invalid UTF-8 is refused. */
  it('refuses invalid UTF-8', () => {
    expect(errorCode(() => parseAppMessage(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d])))).toBe('message');
  });

  /** 4000 chars (Unicode scalar values, not UTF-16 units or bytes) pass; 4001 are refused both ways. */
  it('limits text to 4000 chars', () => {
    expect(parseAppMessage(encodeAppMessage(text('ø'.repeat(4000))))).toEqual(text('ø'.repeat(4000)));
    expect(parseAppMessage(encodeAppMessage(text('😀'.repeat(4000))))).toEqual(text('😀'.repeat(4000)));
    expect(errorCode(() => encodeAppMessage(text('a'.repeat(4001))))).toBe('message');
    expect(errorCode(() => parse(`{"k":"text","body":"${'ø'.repeat(4001)}","ts":0}`))).toBe('message');
    expect(errorCode(() => encodeAppMessage(text('\ud800')))).toBe('message');
  });
});

describe('messages on a session', () => {
  /** hello first, text both ways, the offer hash over the exact received bytes, then bye. */
  it('runs a conversation', () => {
    const { v, c } = greeted();
    const offer: AppMessage = { k: 'referral_offer', office_id: 'kbh-nord', office_name: 'Brobygger', fields: ['contact'] };
    const sent = sendMessage(c, offer);
    const got = receiveMessage(v, sent.n, sent.ct);
    expect(got.message).toEqual(offer);
    const consent = sendMessage(v, { k: 'referral_consent', offer_hash: offerHash(got.json), yes: true });
    const answer = receiveMessage(c, consent.n, consent.ct).message;
    expect(answer.k === 'referral_consent' && b64Encode(answer.offer_hash)).toBe(b64Encode(offerHash(encodeAppMessage(offer))));
    const bye = sendMessage(v, { k: 'bye', reason: 'visitor' });
    expect(v.ended).toBe(true);
    expect(receiveMessage(c, bye.n, bye.ct).message).toEqual({ k: 'bye', reason: 'visitor' });
    expect(errorCode(() => sendMessage(c, text('more')))).toBe('ended');
    expect(errorCode(() => receiveMessage(c, bye.n + 1, bye.ct))).toBe('ended');
  });

  /** The counsellor refuses anything but hello as message 0, and poisons. */
  it('requires hello as the visitor message 0', () => {
    const { v, c } = pair();
    const m = sendMessage(v, text('hi'));
    expect(errorCode(() => receiveMessage(c, m.n, m.ct))).toBe('message');
    expect(c.poisoned).toBe(true);
    expect(errorCode(() => sendMessage(c, text('x')))).toBe('poisoned');
  });

  /** hello anywhere else is refused: a second hello, or one from the counsellor. */
  it('refuses a misplaced hello', () => {
    const a = greeted();
    const again = sendMessage(a.v, { k: 'hello' });
    expect(errorCode(() => receiveMessage(a.c, again.n, again.ct))).toBe('message');
    const b = greeted();
    const fromCounsellor = sendMessage(b.c, { k: 'hello' });
    expect(errorCode(() => receiveMessage(b.v, fromCounsellor.n, fromCounsellor.ct))).toBe('message');
    expect(b.v.poisoned).toBe(true);
  });

  /** A replay is dropped without harm; the session continues. */
  it('ignores replays without poisoning', () => {
    const { v, c } = greeted();
    const m1 = sendMessage(v, text('one'));
    receiveMessage(c, m1.n, m1.ct);
    expect(errorCode(() => receiveMessage(c, m1.n, m1.ct))).toBe('replay');
    expect(errorCode(() => receiveMessage(c, 0, m1.ct))).toBe('replay');
    const m2 = sendMessage(v, text('two'));
    expect(receiveMessage(c, m2.n, m2.ct).message).toEqual(text('two'));
  });

  /** A gap (a dropped or reordered message) poisons; so does the late one after it. */
  it('poisons on a gap or reordering', () => {
    const { v, c } = greeted();
    const m1 = sendMessage(v, text('one'));
    const m2 = sendMessage(v, text('two'));
    expect(errorCode(() => receiveMessage(c, m2.n, m2.ct))).toBe('gap');
    expect(errorCode(() => receiveMessage(c, m1.n, m1.ct))).toBe('poisoned');
  });

  /** A ciphertext presented under the wrong counter does not decrypt (reordering with relabelled n). */
  it('refuses a message under another counter', () => {
    const { v, c } = greeted();
    sendMessage(v, text('one'));
    const m2 = sendMessage(v, text('two'));
    expect(errorCode(() => receiveMessage(c, 1, m2.ct))).toBe('decrypt');
  });

  /** Flipping any bit of a transport ciphertext is refused and poisons that session. */
  it('refuses every bit flip', () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const receiver = (): Session => new Session(new CipherState(undefined), new CipherState(key.slice()), new Uint8Array(32), true);
    const sender = new Session(new CipherState(key.slice()), new CipherState(undefined), new Uint8Array(32), false);
    const m = sendMessage(sender, text('bit flips'));
    for (let i = 0; i < m.ct.length * 8; i++) {
      const bad = m.ct.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      const r = receiver();
      if (errorCode(() => receiveMessage(r, m.n, bad)) !== 'decrypt' || !r.poisoned) expect.fail(`bit ${i} accepted`);
    }
    expect(receiveMessage(receiver(), m.n, m.ct).message).toEqual(text('bit flips'));
  });

  /** Data after bye is refused in both directions. */
  it('refuses data after bye', () => {
    const { v, c } = greeted();
    const bye = sendMessage(c, { k: 'bye', reason: 'ended' });
    expect(errorCode(() => sendMessage(c, text('late')))).toBe('ended');
    const late = sendMessage(v, text('before seeing bye'));
    expect(receiveMessage(v, bye.n, bye.ct).message.k).toBe('bye');
    expect(errorCode(() => receiveMessage(c, late.n, late.ct))).toBe('ended');
    expect(errorCode(() => sendMessage(v, text('after bye')))).toBe('ended');
  });

  /** Valid ciphertext of bad padding or bad JSON is refused and poisons. */
  it('poisons on bad padding or an invalid message inside valid ciphertext', () => {
    const a = greeted();
    const badPad = pad(utf8('{"k":"typing","on":true}'));
    badPad[255] = 1;
    const m = a.v.encrypt(badPad);
    expect(errorCode(() => receiveMessage(a.c, m.n, m.ct))).toBe('padding');
    expect(a.c.poisoned).toBe(true);
    const b = greeted();
    const m2 = b.v.encrypt(pad(utf8('{"k":"typing","on":true,"x":0}')));
    expect(errorCode(() => receiveMessage(b.c, m2.n, m2.ct))).toBe('message');
    expect(b.c.poisoned).toBe(true);
  });

  /** A message too large for the biggest bucket is refused by its sender without harm. */
  it('refuses a too-large message at the sender', () => {
    const { v } = greeted();
    const fields = Array.from({ length: 2000 }, () => 'ten chars!');
    expect(errorCode(() => sendMessage(v, { k: 'referral_offer', office_id: 'o', office_name: 'n', fields }))).toBe('too_large');
    expect(v.poisoned).toBe(false);
    expect(sendMessage(v, text('still fine')).n).toBe(1);
  });
});
