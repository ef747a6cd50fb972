import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../src/proto/frames.js';
import { FrameError, parseServerFrame } from '../src/proto/server-frames.js';
import { loadVector } from './vectors.js';

const conv = 'AAAAAAAAAAAAAAAAAAAAAA';
const bundle = loadVector<{ counsellor: { bundle: { id_cert: string; shift_cert: string } } }>('certs.json').counsellor.bundle;
const kind = (text: string): string => {
  try {
    parseServerFrame(text);
  } catch (e) {
    if (e instanceof FrameError) return e.kind;
    throw e;
  }
  return 'ok';
};

describe('server frames', () => {
  /** Every server frame of §3 and docs/protocol.md, in the form the relay serialises. */
  it.each([
    '{"t":"hello","v":1,"limits":{"max_frame":65536,"max_text_chars":4000,"ping_s":20,"idle_s":60}}',
    '{"t":"queued","conv":"AAAAAAAAAAAAAAAAAAAAAA","position":3,"eta_s":240,"resume":"tok"}',
    `{"t":"assigned","conv":"${conv}","bundle":${JSON.stringify(bundle)},"alias":"Maja"}`,
    `{"t":"offer","conv":"${conv}","queue":"da/exit","waited_s":42,"expires_s":30}`,
    '{"t":"welcome","alias":"Maja","role":"counsellor"}',
    ...['counsellor_ended', 'visitor_left', 'transferred', 'offer_expired', 'offer_withdrawn', 'crypto_failed'].map(
      (reason) => `{"t":"ended","conv":"${conv}","reason":"${reason}"}`),
    `{"t":"referral_stored","conv":"${conv}","code":"BRO-4KQ7-9MXC"}`,
    '{"t":"callbacks","items":[{"id":"x","queue":"da/phone","sealed":{"enc":"AAAA","ct":"AAAA"},"age_s":5}]}',
    '{"t":"callbacks","items":[]}',
    '{"t":"error","code":"queue_full","message":"full"}',
    '{"t":"error","code":"rate_limited","message":"slow down","retry_after_s":30}',
    `{"t":"hs1","conv":"${conv}","m":"abc_-"}`,
    `{"t":"hs2","conv":"${conv}","m":"abc"}`,
    `{"t":"data","conv":"${conv}","n":7,"m":"abc"}`,
  ])('accepts %s', (text) => {
    const frame = parseServerFrame(text);
    expect(JSON.parse(JSON.stringify(frame))).toEqual(JSON.parse(text));
  });

  /** Unknown types and fields, wrong types and values, and missing fields are bad frames. */
  it.each([
    '{"t":"nope"}', '{"position":3}', '[1,2]', '"hello"', '{"t":"leave"}',
    '{"t":"queued","position":3,"eta_s":240,"resume":"tok","x":1}',
    '{"t":"queued","position":3,"eta_s":240}', '{"t":"queued","position":-1,"eta_s":240,"resume":"t"}',
    '{"t":"queued","position":1.5,"eta_s":240,"resume":"t"}', '{"t":"queued","position":4294967296,"eta_s":0,"resume":"t"}',
    '{"t":"data","conv":"short","n":1,"m":"a"}', `{"t":"data","conv":"${conv}","n":-1,"m":"a"}`,
    `{"t":"data","conv":"${conv}","n":9007199254740992,"m":"a"}`,
    `{"t":"data","conv":"${conv}","n":1,"m":"not base64!"}`, `{"t":"data","conv":"${conv}","n":1,"m":""}`,
    `{"t":"data","conv":"${'!'.repeat(22)}","n":1,"m":"a"}`,
    `{"t":"assigned","conv":"${conv}","bundle":{"id_cert":"AA==","shift_cert":"AA"},"alias":"M"}`,
    `{"t":"assigned","conv":"${conv}","bundle":{"id_cert":"AA","shift_cert":"AA","x":"AA"},"alias":"M"}`,
    `{"t":"ended","conv":"${conv}","reason":"Free text"}`, '{"t":"error","code":"teapot","message":"x"}',
    `{"t":"offer","conv":"${conv}","queue":"DA/exit","waited_s":1,"expires_s":1}`,
    '{"t":"hello","v":1,"limits":{"max_frame":1,"max_text_chars":1,"ping_s":1}}',
    '{"t":"welcome","alias":"M","role":"counsellor","toString":"x"}',
    '{"t":"welcome","alias":"M","role":"counsellor","__proto__":{}}',
  ])('refuses %s as bad_frame', (text) => {
    expect(kind(text)).toBe('bad_frame');
  });

  /** Text that is not JSON, duplicate keys and oversize frames are invalid JSON. */
  it.each(['', '{', 'not json', '{"t":"hello"', '{"t":"welcome","t":"welcome","alias":"M","role":"r"}', 'x'.repeat(65537)])(
    'refuses %j as invalid_json', (text) => {
      expect(kind(text)).toBe('invalid_json');
    });

  /** Client frames serialise to the documented wire form. */
  it('encodes client frames', () => {
    expect(encodeFrame({ t: 'join', queue: 'da/exit' })).toBe('{"t":"join","queue":"da/exit"}');
    expect(encodeFrame({ t: 'data', conv, n: 7, m: 'abc' })).toBe(`{"t":"data","conv":"${conv}","n":7,"m":"abc"}`);
    expect(encodeFrame({ t: 'leave' })).toBe('{"t":"leave"}');
    expect(encodeFrame({ t: 'auth', ticket: 'abc' })).toBe('{"t":"auth","ticket":"abc"}');
  });
});
