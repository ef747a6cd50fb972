/**
 * Enrolment of this browser's identity key: find the account's key in IndexedDB, make one
 * if there is none (or the relay knows another), send only its public key to
 * `POST /v1/console/identity`, and wait for the org-signed identity certificate — at once in
 * demo mode, else after a supervisor registers it (polling `GET /v1/auth/me`). The
 * certificate is checked against the org root and this key before it is used.
 */

import { b64Decode, b64Encode, fingerprint, verifyIdCert } from '../proto/index.js';
import { button, h } from '../widget/dom.js';
import type { IdentitySigner, IdentityStore } from './identity.js';
import { loadOrCreateIdentity, signerOf } from './identity.js';

/** The part of `GET /v1/auth/me` enrolment needs. */
export interface MeIdentity {
  readonly publicKey: string;
  readonly fingerprint: string;
  readonly cert: string | null;
}

/** The calls enrolment makes. */
export interface EnrolApi {
  me(): Promise<{ readonly username: string; readonly identity: MeIdentity | null }>;
  enrolIdentity(publicKey: string): Promise<{ readonly fingerprint: string; readonly cert: string | null }>;
}

/** A usable identity: the key in this browser and its verified certificate. */
export interface ReadyIdentity {
  readonly signer: IdentitySigner;
  readonly idCert: Uint8Array;
  readonly fingerprint: string;
}

/** Seconds between polls of `/v1/auth/me` while the certificate is pending. */
export const POLL_S = 5;

/**
 * Checks `certText` against the org root and this key, at `nowUnix` (±300 s). Returns the
 * certificate bytes, or `undefined` when it is not for this key, not signed by the org,
 * or outside its validity.
 */
export function checkIdCert(certText: string, orgRoot: Uint8Array, publicKey: Uint8Array, nowUnix: number): Uint8Array | undefined {
  try {
    const bytes = b64Decode(certText, 'cert');
    const cert = verifyIdCert(bytes, orgRoot);
    const now = BigInt(nowUnix);
    const same = cert.idPub.length === publicKey.length && cert.idPub.every((b, i) => b === publicKey[i]);
    return same && now + 300n >= cert.notBefore && now <= cert.notAfter + 300n ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs enrolment in `main` until the identity is ready. `onReady` gets the key and
 * certificate; the screen explains each step and shows the fingerprint for the supervisor.
 */
export async function enrol(main: HTMLElement, api: EnrolApi, store: IdentityStore, orgRoot: Uint8Array,
  onReady: (id: ReadyIdentity) => void): Promise<void> {
  const me = await api.me();
  const stored = await store.get(me.username);
  const now = (): number => Math.floor(Date.now() / 1000);
  if (stored !== undefined && me.identity !== null && me.identity.publicKey === b64Encode(stored.publicKey)) {
    const signer = signerOf(stored);
    const cert = me.identity.cert === null ? undefined : checkIdCert(me.identity.cert, orgRoot, signer.publicKey, now());
    if (cert !== undefined) {
      onReady({ signer, idCert: cert, fingerprint: fingerprint(signer.publicKey) });
      return;
    }
    waitForCert(main, api, orgRoot, signer, onReady);
    return;
  }
  const title = h('h1', { tabindex: '-1' }, 'Set up this browser');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const start = button('Create my identity key', () => {
    start.disabled = true;
    void (async () => {
      try {
        const { signer } = await loadOrCreateIdentity(store, me.username, true);
        const res = await api.enrolIdentity(b64Encode(signer.publicKey));
        const cert = res.cert === null ? undefined : checkIdCert(res.cert, orgRoot, signer.publicKey, now());
        if (cert !== undefined) showEnrolled(main, signer, cert, onReady);
        else waitForCert(main, api, orgRoot, signer, onReady);
      } catch {
        start.disabled = false;
        error.textContent = 'The key could not be created or sent. Check the connection and try again.';
      }
    })();
  }, { class: 'primary' });
  main.replaceChildren(title,
    h('p', {}, me.identity === null
      ? 'Before your first shift, this browser makes your identity key. It never leaves this browser; only its public part is sent to be certified by your organisation.'
      : 'This browser does not hold the identity key registered for your account. Make a new one here; a supervisor must certify it again (the old certificate stops working).'),
    start, error);
  title.focus();
}

function showEnrolled(main: HTMLElement, signer: IdentitySigner, cert: Uint8Array, onReady: (id: ReadyIdentity) => void): void {
  const fp = fingerprint(signer.publicKey);
  const title = h('h1', { tabindex: '-1' }, 'Your identity key is ready');
  main.replaceChildren(title,
    h('p', {}, 'Fingerprint: ', h('span', { class: 'code fingerprint' }, fp)),
    h('p', { class: 'muted' }, signer.kind === 'webcrypto'
      ? 'The key is stored in this browser and cannot be copied out of it.'
      : 'This browser cannot keep the key sealed, so it is stored as data in this browser’s storage. Use a current Chromium-based browser if you can.'),
    button('Continue', () => onReady({ signer, idCert: cert, fingerprint: fp }), { class: 'primary' }));
  title.focus();
}

function waitForCert(main: HTMLElement, api: EnrolApi, orgRoot: Uint8Array, signer: IdentitySigner, onReady: (id: ReadyIdentity) => void): void {
  const fp = fingerprint(signer.publicKey);
  const title = h('h1', { tabindex: '-1' }, 'Waiting for your certificate');
  const status = h('p', { role: 'status', class: 'muted' }, 'Checking every few seconds…');
  main.replaceChildren(title,
    h('p', {}, 'Ask a supervisor to certify your identity key. Read this fingerprint to them; it must match what they see:'),
    h('p', { class: 'code fingerprint' }, fp),
    status);
  title.focus();
  const poll = (): void => {
    api.me().then((me) => {
      const cert = me.identity?.cert;
      const ok = cert === null || cert === undefined ? undefined : checkIdCert(cert, orgRoot, signer.publicKey, Math.floor(Date.now() / 1000));
      if (ok !== undefined) showEnrolled(main, signer, ok, onReady);
      else setTimeout(poll, POLL_S * 1000);
    }, () => {
      status.textContent = 'The server cannot be reached right now; trying again.';
      setTimeout(poll, POLL_S * 1000);
    });
  };
  setTimeout(poll, POLL_S * 1000);
}
