/** Loads the shared test vectors of `../testdata/` (see testdata/README.md for each schema). */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { b64Decode } from '../src/proto/b64.js';

const TESTDATA = fileURLToPath(new URL('../../testdata/', import.meta.url));

/** Parses one JSON file under `testdata/`. */
export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(TESTDATA + name, 'utf8')) as T;
}

/** Hex to bytes. */
export function hex(text: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new Error(`bad hex: ${text.slice(0, 16)}`);
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** base64url (no padding) to bytes. */
export const b64 = (text: string): Uint8Array => b64Decode(text);

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Runs `f` and returns the `code` of the CryptoError it throws (fails the test if it does not). */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof Error && 'code' in e) return String((e as { code: unknown }).code);
    throw e;
  }
  throw new Error('expected an error, none was thrown');
}
