/**
 * The application messages of PROTOCOL.md §2 (the JSON inside the padding) and the session
 * helpers that encode, pad and encrypt them, or decrypt, unpad and parse them — as Rust's
 * `message.rs`: unknown kinds and fields refused, `text.body` ≤ 4000 Unicode scalar values,
 * `hello` exactly as the visitor's message 0, nothing after `bye`. The JSON written is
 * byte-identical to serde_json's (fields in declaration order, the same escapes).
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { b64DecodeExact, b64Encode } from './b64.js';
import { isWellFormed, utf8Decode, utf8Encode, wipe } from './bytes.js';
import { CryptoError, fail } from './errors.js';
import { isObject, jsonString, parseStrictJson } from './json.js';
import type { JsonValue } from './json.js';
import { pad, unpad } from './pad.js';
import type { Encrypted, Session } from './session.js';

/** Longest `text` body, in Unicode scalar values. */
export const MAX_TEXT_CHARS = 4000;

/** One application message; `k` is the kind. Integers are non-negative safe integers. */
export type AppMessage =
  | { readonly k: 'hello' }
  | { readonly k: 'text'; readonly body: string; readonly ts: number }
  | { readonly k: 'typing'; readonly on: boolean }
  | { readonly k: 'read'; readonly upto: number }
  | { readonly k: 'referral_offer'; readonly office_id: string; readonly office_name: string; readonly fields: readonly string[] }
  | { readonly k: 'referral_consent'; readonly offer_hash: Uint8Array; readonly yes: boolean }
  | { readonly k: 'referral_code'; readonly code: string; readonly office_name: string; readonly address: string; readonly hours: string }
  | { readonly k: 'bye'; readonly reason: string };

/** The kinds of application message. */
export type AppMessageKind = AppMessage['k'];

type FieldType = 'string' | 'u64' | 'bool' | 'strings' | 'hash';

/** Each kind's fields, in serde's serialisation order. */
const SCHEMA: Readonly<Record<AppMessageKind, readonly (readonly [string, FieldType])[]>> = {
  hello: [],
  text: [['body', 'string'], ['ts', 'u64']],
  typing: [['on', 'bool']],
  read: [['upto', 'u64']],
  referral_offer: [['office_id', 'string'], ['office_name', 'string'], ['fields', 'strings']],
  referral_consent: [['offer_hash', 'hash'], ['yes', 'bool']],
  referral_code: [['code', 'string'], ['office_name', 'string'], ['address', 'string'], ['hours', 'string']],
  bye: [['reason', 'string']],
};

const invalid = (why: string): CryptoError => fail('message', `invalid application message: ${why}`);

function isKind(k: unknown): k is AppMessageKind {
  return typeof k === 'string' && Object.prototype.hasOwnProperty.call(SCHEMA, k);
}

/** Checks one decoded field value and converts it to its TypeScript form. */
function readField(name: string, type: FieldType, v: JsonValue | undefined): unknown {
  switch (type) {
    case 'string':
      if (typeof v !== 'string') throw invalid(`${name} must be a string`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw invalid(`${name} must be a boolean`);
      return v;
    case 'u64':
      // serde's u64 takes an integer literal in 0..2^64; a JS number is exact only to 2^53 - 1.
      if (typeof v !== 'bigint' || v > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw invalid(`${name} must be an integer from 0 to 2^53 - 1`);
      }
      return Number(v);
    case 'strings':
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalid(`${name} must be an array of strings`);
      return v;
    case 'hash':
      if (typeof v !== 'string') throw invalid(`${name} must be a string`);
      try {
        return b64DecodeExact(v, 32, name);
      } catch {
        throw invalid(`${name} must be base64url of 32 bytes`);
      }
  }
}

/** Checks what JSON types cannot express. */
function validate(msg: AppMessage): void {
  if (msg.k === 'text' && [...msg.body].length > MAX_TEXT_CHARS) {
    throw invalid(`text body longer than ${MAX_TEXT_CHARS} chars`);
  }
}

/** Parses and validates the exact JSON bytes of one message; throws `message`. */
export function parseAppMessage(json: Uint8Array): AppMessage {
  const text = utf8Decode(json);
  if (text === undefined) throw invalid('not UTF-8');
  let value: JsonValue;
  try {
    value = parseStrictJson(text);
  } catch (e) {
    throw invalid(e instanceof Error ? e.message : 'not JSON');
  }
  if (!isObject(value)) throw invalid('not a JSON object');
  const k = value['k'];
  if (!isKind(k)) throw invalid(typeof k === 'string' ? 'unknown kind' : 'missing kind "k"');
  const fields = SCHEMA[k];
  const out: Record<string, unknown> = { k };
  for (const key of Object.keys(value)) {
    if (key !== 'k' && !fields.some(([name]) => name === key)) throw invalid(`unknown field "${key.slice(0, 32)}"`);
  }
  for (const [name, type] of fields) {
    if (!Object.prototype.hasOwnProperty.call(value, name)) throw invalid(`missing field "${name}"`);
    out[name] = readField(name, type, value[name]);
  }
  const msg = out as AppMessage;
  validate(msg);
  return msg;
}

function writeField(name: string, type: FieldType, v: unknown): string {
  const str = (s: unknown): string => {
    if (typeof s !== 'string' || !isWellFormed(s)) throw invalid(`${name} must be a well-formed string`);
    return jsonString(s);
  };
  switch (type) {
    case 'string':
      return str(v);
    case 'bool':
      if (typeof v !== 'boolean') throw invalid(`${name} must be a boolean`);
      return String(v);
    case 'u64':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${name} must be a non-negative integer`);
      return String(v);
    case 'strings':
      if (!Array.isArray(v)) throw invalid(`${name} must be an array of strings`);
      return `[${v.map(str).join(',')}]`;
    case 'hash':
      if (!(v instanceof Uint8Array) || v.length !== 32) throw invalid(`${name} must be 32 bytes`);
      return jsonString(b64Encode(v));
  }
}

/** The JSON bytes of a message, validated; identical to what Rust's `to_json` writes. */
export function encodeAppMessage(msg: AppMessage): Uint8Array {
  if (!isKind(msg.k)) throw invalid('unknown kind');
  validate(msg);
  const record = msg as unknown as Record<string, unknown>;
  const parts = [`"k":${jsonString(msg.k)}`];
  for (const [name, type] of SCHEMA[msg.k]) parts.push(`${jsonString(name)}:${writeField(name, type, record[name])}`);
  return utf8Encode(`{${parts.join(',')}}`);
}

/** SHA-256 of the exact unpadded JSON bytes of a `referral_offer`, as received. */
export function offerHash(offerJson: Uint8Array): Uint8Array {
  return sha256(offerJson);
}

/** A received message with the exact JSON it came in (for {@link offerHash}). */
export interface Received {
  readonly message: AppMessage;
  readonly json: Uint8Array;
}

/** Encodes, pads and encrypts `msg` on `session`; sending `bye` ends the session. */
export function sendMessage(session: Session, msg: AppMessage): Encrypted {
  const json = encodeAppMessage(msg);
  const padded = pad(json);
  try {
    const out = session.encrypt(padded);
    if (msg.k === 'bye') session.end();
    return out;
  } finally {
    wipe(json, padded);
  }
}

/**
 * Decrypts, unpads and parses message `n`. The counsellor's message 0 must be `hello` and
 * `hello` is refused anywhere else; a received `bye` ends the session. Every error except
 * `replay` (drop the frame and carry on) poisons the session.
 */
export function receiveMessage(session: Session, n: number, ciphertext: Uint8Array): Received {
  const padded = session.decrypt(n, ciphertext);
  try {
    const json = unpad(padded);
    const message = parseAppMessage(json);
    const mustBeHello = !session.isInitiator && n === 0;
    if (mustBeHello !== (message.k === 'hello')) throw invalid('hello must be exactly the first visitor message');
    if (message.k === 'bye') session.end();
    return { message, json: json.slice() };
  } catch (e) {
    session.poison();
    throw e;
  } finally {
    wipe(padded);
  }
}
