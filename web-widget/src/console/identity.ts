/**
 * The counsellor's identity key (PROTOCOL.md §1), made and kept in this browser: a WebCrypto
 * Ed25519 key that cannot be exported, stored as a `CryptoKey` in IndexedDB; where the
 * browser has no WebCrypto Ed25519, a noble key whose 32-byte seed is stored instead. Only
 * the public key ever leaves the browser (enrolment); the key signs shift certificates.
 */

import { ed25519Public, ed25519Sign } from '../proto/index.js';

/** Signs with the identity key; the secret stays inside. */
export interface IdentitySigner {
  readonly publicKey: Uint8Array;
  /** `webcrypto`: a non-extractable CryptoKey. `noble`: a raw seed in IndexedDB (fallback). */
  readonly kind: 'webcrypto' | 'noble';
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** What IndexedDB holds for one account. */
export type StoredIdentity =
  | { readonly kind: 'webcrypto'; readonly publicKey: Uint8Array; readonly privateKey: CryptoKey }
  | { readonly kind: 'noble'; readonly publicKey: Uint8Array; readonly seed: Uint8Array };

/** Where identities are kept (IndexedDB in the browser, a map in tests). */
export interface IdentityStore {
  get(username: string): Promise<StoredIdentity | undefined>;
  put(username: string, identity: StoredIdentity): Promise<void>;
}

/** A signer over a stored identity. */
export function signerOf(stored: StoredIdentity, subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null): IdentitySigner {
  if (stored.kind === 'noble') {
    const seed = stored.seed;
    return { kind: 'noble', publicKey: stored.publicKey, sign: (m) => Promise.resolve(ed25519Sign(seed, m)) };
  }
  const key = stored.privateKey;
  return {
    kind: 'webcrypto',
    publicKey: stored.publicKey,
    async sign(m) {
      if (subtle === null) throw new Error('WebCrypto is not available');
      return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, m as Uint8Array<ArrayBuffer>));
    },
  };
}

/** A new identity: WebCrypto Ed25519 (non-extractable) where the browser has it, else noble (`subtle` null: force noble). */
export async function generateIdentity(subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null): Promise<StoredIdentity> {
  if (subtle !== null) {
    try {
      const pair = (await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
      const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
      if (publicKey.length === 32) return { kind: 'webcrypto', publicKey, privateKey: pair.privateKey };
    } catch {
      // No Ed25519 in this browser's WebCrypto: fall back to noble below.
    }
  }
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return { kind: 'noble', publicKey: ed25519Public(seed), seed };
}

/** The identity of `username` in `store`, made and stored first if there is none. */
export async function loadOrCreateIdentity(store: IdentityStore, username: string, fresh = false): Promise<{ signer: IdentitySigner; created: boolean }> {
  const existing = fresh ? undefined : await store.get(username);
  if (existing !== undefined) return { signer: signerOf(existing), created: false };
  const made = await generateIdentity();
  await store.put(username, made);
  return { signer: signerOf(made), created: true };
}

const DB_NAME = 'lyt-console';
const STORE = 'identity';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error ?? new Error('IndexedDB request failed'));
  });
}

/** The browser's IndexedDB store: database `lyt-console`, one record per username. */
export function indexedDbStore(idb: IDBFactory = indexedDB): IdentityStore {
  const open = (): Promise<IDBDatabase> => {
    const r = idb.open(DB_NAME, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    return request(r);
  };
  return {
    async get(username) {
      const db = await open();
      try {
        const v: unknown = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(username));
        return isStoredIdentity(v) ? v : undefined;
      } finally {
        db.close();
      }
    },
    async put(username, identity) {
      const db = await open();
      try {
        const tx = db.transaction(STORE, 'readwrite');
        tx.objectStore(STORE).put(identity, username);
        await new Promise<void>((ok, fail) => {
          tx.oncomplete = () => ok();
          tx.onerror = () => fail(tx.error ?? new Error('IndexedDB write failed'));
        });
      } finally {
        db.close();
      }
    },
  };
}

function isStoredIdentity(v: unknown): v is StoredIdentity {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  if (!(o['publicKey'] instanceof Uint8Array) || o['publicKey'].length !== 32) return false;
  if (o['kind'] === 'noble') return o['seed'] instanceof Uint8Array && o['seed'].length === 32;
  return o['kind'] === 'webcrypto' && typeof CryptoKey !== 'undefined' && o['privateKey'] instanceof CryptoKey;
}
