/**
 * A strict runtime validator for server frames (PROTOCOL.md §3): the JSON is read with the
 * strict reader (no duplicate keys), the type `t` must be known, every field must be present
 * with the right type and form, and unknown fields are refused — as strict as the relay is
 * with client frames. Integers must be exact in a JS number (≤ 2^53 − 1).
 */

import { b64Decode } from './b64.js';
import { ERROR_CODES, MAX_FRAME_BYTES } from './frames.js';
import type { ServerFrame, ServerFrameType } from './frames.js';
import { isObject, JsonSyntaxError, parseStrictJson } from './json.js';
import type { JsonObject, JsonValue } from './json.js';

/** Why a server frame was refused: not JSON at all, or JSON that is not an acceptable frame. */
export class FrameError extends Error {
  constructor(readonly kind: 'invalid_json' | 'bad_frame', message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const MAX_BLOB_CHARS = 22_000;
const MAX_CERT_CHARS = 1_024;
const MAX_SEALED_CHARS = 16_384;
const MAX_U32 = 0xffff_ffff;

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const bad = (why: string): FrameError => new FrameError('bad_frame', why);

type Check = (v: JsonValue | undefined, name: string) => unknown;

function integer(max: number): Check {
  return (v, name) => {
    if (typeof v !== 'bigint' || v > BigInt(max)) throw bad(`${name} must be an integer from 0 to ${max}`);
    return Number(v);
  };
}
const u32 = integer(MAX_U32);
const u64 = integer(Number.MAX_SAFE_INTEGER);

function text(max = 4096): Check {
  return (v, name) => {
    if (typeof v !== 'string' || v.length > max) throw bad(`${name} must be a string of at most ${max} characters`);
    return v;
  };
}
const slug: Check = (v, name) => {
  if (typeof v !== 'string' || !/^[a-z0-9_-]{1,32}$/.test(v)) throw bad(`${name} must be a slug`);
  return v;
};
const convId: Check = (v, name) => {
  if (typeof v !== 'string' || v.length !== 22) throw bad(`${name} must be 16 bytes of base64url`);
  try {
    b64Decode(v);
  } catch {
    throw bad(`${name} is not base64url`);
  }
  return v;
};
const queueId: Check = (v, name) => {
  if (typeof v !== 'string' || !/^[a-z]{2,3}\/[a-z0-9_-]{1,32}$/.test(v)) throw bad(`${name} must be a queue id`);
  return v;
};
/** A Noise payload: base64url characters only, 1–22000 of them (decoded later, strictly). */
const blob: Check = (v, name) => {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_BLOB_CHARS || !/^[A-Za-z0-9_-]+$/.test(v)) {
    throw bad(`${name} must be base64url of at most ${MAX_BLOB_CHARS} characters`);
  }
  return v;
};
function b64Text(max: number): Check {
  return (v, name) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`${name} must be base64url of at most ${max} characters`);
    try {
      b64Decode(v);
    } catch {
      throw bad(`${name} is not base64url`);
    }
    return v;
  };
}
const errorCode: Check = (v, name) => {
  if (typeof v !== 'string' || !(ERROR_CODES as readonly string[]).includes(v)) throw bad(`${name} must be an error code`);
  return v;
};

type Shape = Readonly<Record<string, Check>>;

/** Checks an object against a shape: every field required unless listed in `optional`. */
function object(shape: Shape, optional: readonly string[] = []): Check {
  return (v, name) => {
    if (!isObject(v)) throw bad(`${name} must be an object`);
    return fields(v, shape, optional, name);
  };
}

function fields(v: JsonObject, shape: Shape, optional: readonly string[], name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    if (!hasOwn(shape, key)) throw bad(`${name}: unknown field "${key.slice(0, 32)}"`);
  }
  for (const [key, check] of Object.entries(shape)) {
    if (!hasOwn(v, key)) {
      if (optional.includes(key)) continue;
      throw bad(`${name}: missing field "${key}"`);
    }
    out[key] = check(v[key], `${name}.${key}`);
  }
  return out;
}

function list(item: Check, max: number): Check {
  return (v, name) => {
    if (!Array.isArray(v) || v.length > max) throw bad(`${name} must be an array of at most ${max} items`);
    return v.map((x, i) => item(x, `${name}[${i}]`));
  };
}

const bundle = object({ id_cert: b64Text(MAX_CERT_CHARS), shift_cert: b64Text(MAX_CERT_CHARS) });
const sealed = object({ enc: b64Text(MAX_SEALED_CHARS), ct: b64Text(MAX_SEALED_CHARS) });

/** The fields of each server frame type (besides `t`). */
const FRAMES: Readonly<Record<ServerFrameType, Shape>> = {
  hello: { v: u32, limits: object({ max_frame: u64, max_text_chars: u64, ping_s: u64, idle_s: u64 }) },
  queued: { conv: convId, position: u32, eta_s: u64, resume: text(256) },
  assigned: { conv: convId, bundle, alias: text(256) },
  offer: { conv: convId, queue: queueId, waited_s: u64, expires_s: u64 },
  welcome: { alias: text(256), role: slug },
  resumed: { conv: convId, have: u64 },
  stored: { conv: convId, upto: u64 },
  on_break: { reason: slug },
  peer: { conv: convId, state: slug },
  callback_received: { id: convId },
  ended: { conv: convId, reason: slug },
  referral_stored: { conv: convId, code: text(64) },
  call_logged: { started: u64, ended: u64 },
  callbacks: { items: list(object({ id: text(256), queue: queueId, sealed, age_s: u64 }), 1000) },
  error: { code: errorCode, message: text(1024), retry_after_s: u64 },
  hs1: { conv: convId, m: blob },
  hs2: { conv: convId, m: blob },
  data: { conv: convId, n: u64, m: blob },
};

/** Fields a frame may leave out. */
const OPTIONAL: Partial<Record<ServerFrameType, readonly string[]>> = {
  error: ['retry_after_s'],
  resumed: ['have'],
};

/**
 * Parses the text of one WebSocket message from the server. Throws {@link FrameError}
 * (`invalid_json` for text that is not JSON or is larger than a frame may be, `bad_frame`
 * for JSON that is not a frame of §3).
 */
export function parseServerFrame(textIn: string): ServerFrame {
  if (textIn.length > MAX_FRAME_BYTES) throw new FrameError('invalid_json', 'frame larger than 64 KiB');
  let value: JsonValue;
  try {
    value = parseStrictJson(textIn);
  } catch (e) {
    throw new FrameError('invalid_json', e instanceof JsonSyntaxError ? e.message : 'not JSON');
  }
  if (!isObject(value)) throw bad('a frame must be a JSON object');
  const t = value['t'];
  if (typeof t !== 'string' || !hasOwn(FRAMES, t)) throw bad('unknown frame type');
  const type = t as ServerFrameType;
  const { t: _t, ...rest } = value;
  void _t;
  const optional = OPTIONAL[type] ?? [];
  return { t: type, ...fields(rest, FRAMES[type], optional, type) } as ServerFrame;
}
