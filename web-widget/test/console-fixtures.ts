/** Shared fixtures of the console tests: an org root, a certified counsellor identity, a fake relay socket. */

import { ed25519Public, encodeIdCertBody, signCert } from '../src/proto/index.js';
import type { SocketLike } from '../src/console/connection.js';
import { signerOf } from '../src/console/identity.js';
import type { IdentitySigner } from '../src/console/identity.js';

export const NOW = 1_795_000_000;

/** An org root and a counsellor identity certified by it for 90 days from `NOW - 1 day`. */
export function identity(alias = 'Maja'): { rootSeed: Uint8Array; root: Uint8Array; seed: Uint8Array; signer: IdentitySigner; idCert: Uint8Array } {
  const rootSeed = crypto.getRandomValues(new Uint8Array(32));
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const publicKey = ed25519Public(seed);
  const idCert = signCert(encodeIdCertBody({
    role: 1, alias, idPub: publicKey, notBefore: BigInt(NOW - 86_400), notAfter: BigInt(NOW + 90 * 86_400), serial: 1n,
  }), rootSeed);
  return { rootSeed, root: ed25519Public(rootSeed), seed, signer: signerOf({ kind: 'noble', publicKey, seed }), idCert };
}

/** A relay socket driven by the test. */
export class FakeSocket implements SocketLike {
  readyState = 1;
  sent: Record<string, unknown>[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.onopen?.call(this as unknown as WebSocket, {} as Event);
  }
  push(frame: object): void {
    this.onmessage?.call(this as unknown as WebSocket, { data: JSON.stringify(frame) } as MessageEvent);
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.call(this as unknown as WebSocket, {} as CloseEvent);
  }
  of(t: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f['t'] === t);
  }
}
