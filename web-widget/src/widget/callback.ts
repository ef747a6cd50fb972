/**
 * The callback request (PROTOCOL.md §4): find the phone desk among the org-certified office
 * certificates of `GET /v1/offices`, and seal the visitor's request to it in the browser.
 * The relay only ever sees the envelope. Pure apart from the random request id.
 */

import { b64Decode, b64Encode, sealCallback, sealedToWire, verifyOfficeCert } from '../proto/index.js';
import type { OfficeCert, WireSealed } from '../proto/index.js';

/** Office kind 2: the phone desk. */
const PHONE_DESK = 2;

/** What the visitor fills in. */
export interface CallbackRequest {
  readonly phone: string;
  readonly when: string;
  readonly language: string;
  readonly voicemailOk: boolean;
  /** Optional; any alias. */
  readonly name?: string;
}

/**
 * The phone desk's certificate from the body of `GET /v1/offices` — the relay's
 * `{"offices": [{"id","kind","name","cert"}]}` (only `cert` is trusted, after verification),
 * or a plain array of base64url certificates — the first with kind 2 that verifies against
 * the pinned org root at `nowUnix`. Anything else: `undefined`.
 */
export function findPhoneDesk(body: unknown, orgRoot: Uint8Array, nowUnix: number): OfficeCert | undefined {
  const list = Array.isArray(body) ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { offices?: unknown }).offices)
      ? (body as { offices: unknown[] }).offices : [];
  for (const item of list.slice(0, 100)) {
    const text = typeof item === 'string' ? item
      : typeof item === 'object' && item !== null && typeof (item as { cert?: unknown }).cert === 'string'
        ? (item as { cert: string }).cert : undefined;
    if (text === undefined) continue;
    try {
      const cert = verifyOfficeCert(orgRoot, b64Decode(text), nowUnix);
      if (cert.kind === PHONE_DESK) return cert;
    } catch {
      // A certificate that does not verify is ignored, never trusted.
    }
  }
  return undefined;
}

/** The JSON plaintext of §4: `phone`, `when`, `language`, `voicemail_ok`, and `name` if given. */
export function callbackPlaintext(r: CallbackRequest): Uint8Array {
  const name = r.name?.trim();
  const json = {
    phone: r.phone.trim(), when: r.when.trim(), language: r.language, voicemail_ok: r.voicemailOk,
    ...(name ? { name } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/** The callback frame, ready to send. */
export interface CallbackFrame {
  readonly t: 'callback';
  /** The visitor-chosen request id (16 bytes, base64url): the HPKE `aad`, which the desk needs to open it. */
  readonly id: string;
  readonly queue: string;
  readonly sealed: WireSealed;
}

/**
 * Seals `r` to the desk with a fresh random 16-byte request id. PROTOCOL.md §4 binds the id
 * as `aad` but the §3 frame does not carry it; this frame adds `id` (see README).
 */
export function sealCallbackFrame(desk: OfficeCert, queue: string, r: CallbackRequest, requestId = crypto.getRandomValues(new Uint8Array(16))): CallbackFrame {
  const sealed = sealCallback(desk.recipientPub, requestId, callbackPlaintext(r));
  return { t: 'callback', id: b64Encode(requestId), queue, sealed: sealedToWire(sealed) };
}
