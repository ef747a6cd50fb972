/**
 * A strict JSON reader with serde_json's acceptance rules where they matter for lyt: UTF-8
 * input (a BOM is refused), RFC 8259 grammar, no trailing characters, duplicate object keys
 * refused (serde refuses duplicate fields), lone surrogate escapes refused (Rust strings cannot
 * hold them), nesting limited to 128. Integers (no fraction, no exponent, no sign) come back
 * as `bigint`, every other number as `number`, so callers can refuse `1.0` where serde's `u64`
 * does. `JSON.parse` cannot tell those apart and silently keeps the last duplicate.
 */

/** A value read by {@link parseStrictJson}. */
export type JsonValue = null | boolean | string | bigint | number | JsonValue[] | JsonObject;
/** A JSON object with no prototype, so keys like `__proto__` are plain data. */
export type JsonObject = { [key: string]: JsonValue };

const MAX_DEPTH = 128;

/** Thrown for text that is not acceptable JSON. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Parses `text` strictly; throws {@link JsonSyntaxError}. */
export function parseStrictJson(text: string): JsonValue {
  let at = 0;
  const bad = (what: string): JsonSyntaxError => new JsonSyntaxError(`${what} at offset ${at}`);
  const ws = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text[at] ?? '')) at++;
  };
  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, at)) {
      at += word.length;
      return value;
    }
    throw bad('unexpected character');
  };
  const number = (): JsonValue => {
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at, at + 400));
    if (m === null) throw bad('invalid number');
    at += m[0].length;
    if (m[1] === undefined && m[2] === undefined && !m[0].startsWith('-')) return BigInt(m[0]);
    const n = Number(m[0]);
    if (!Number.isFinite(n)) throw bad('number out of range');
    return n;
  };
  const string = (): string => {
    at++; // opening quote
    let out = '';
    for (;;) {
      const c = text.charCodeAt(at);
      if (Number.isNaN(c)) throw bad('unterminated string');
      if (c === 0x22) {
        at++;
        break;
      }
      if (c < 0x20) throw bad('control character in string');
      if (c !== 0x5c) {
        out += text[at];
        at++;
        continue;
      }
      const e = text[at + 1];
      at += 2;
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
      } else if (e === 'u') {
        const hex = text.slice(at, at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw bad('invalid \\u escape');
        at += 4;
        out += String.fromCharCode(parseInt(hex, 16));
      } else {
        throw bad('invalid escape');
      }
    }
    if (/\p{Surrogate}/u.test(out)) throw bad('lone surrogate in string');
    return out;
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) throw bad('nesting too deep');
    ws();
    const c = text[at];
    if (c === '{') {
      at++;
      const obj: JsonObject = Object.create(null) as JsonObject;
      ws();
      if (text[at] === '}') {
        at++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[at] !== '"') throw bad('expected a key');
        const key = string();
        if (Object.prototype.hasOwnProperty.call(obj, key)) throw bad(`duplicate key "${key.slice(0, 32)}"`);
        ws();
        if (text[at] !== ':') throw bad('expected ":"');
        at++;
        obj[key] = value(depth + 1);
        ws();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return at++, obj;
        else throw bad('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const arr: JsonValue[] = [];
      ws();
      if (text[at] === ']') return at++, arr;
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return at++, arr;
        else throw bad('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    throw bad(c === undefined ? 'unexpected end' : 'unexpected character');
  };
  const out = value(0);
  ws();
  if (at !== text.length) throw bad('trailing characters');
  return out;
}

/** Whether `v` is a JSON object (not an array, not null). */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Serialises a string exactly as serde_json does (same escapes as well-formed `JSON.stringify`). */
export function jsonString(s: string): string {
  return JSON.stringify(s);
}
