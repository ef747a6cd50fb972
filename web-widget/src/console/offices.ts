/**
 * Brobygger offices for the referral form (#8): the body of `GET /v1/offices`, where only
 * an office certificate that verifies against the pinned org root is trusted — its id, name
 * and recipient key come from the certificate; the municipality, address and reception
 * hours (plain words, shown to the counsellor and given to the visitor) from the entry
 * whose id the certificate names. Pure.
 */

import { b64Decode, verifyOfficeCert } from '../proto/index.js';

/** Office kind 1: a brobygger office. */
const BROBYGGER = 1;
/** Longest directory text kept (municipality, address, hours). */
const MAX_INFO_CHARS = 200;

/** A brobygger office whose certificate verified. */
export interface BrobyggerOffice {
  readonly id: string;
  /** The certified display name. */
  readonly name: string;
  readonly municipality: string;
  readonly address: string;
  readonly hours: string;
  /** The certified X25519 recipient key the referral is sealed to. */
  readonly recipientPub: Uint8Array;
}

function info(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v.replace(/\p{Cc}/gu, ' ').trim().slice(0, MAX_INFO_CHARS) : '';
}

/**
 * The brobygger offices of a `GET /v1/offices` body (`{"offices": [{id, kind, name, cert,
 * municipality, address, reception_hours}]}`) whose certificates verify against `orgRoot`
 * at `nowUnix` and name the entry's id; sorted by municipality, then name. Anything else
 * is left out, never trusted.
 */
export function brobyggerOffices(body: unknown, orgRoot: Uint8Array, nowUnix: number): BrobyggerOffice[] {
  const list = typeof body === 'object' && body !== null && Array.isArray((body as { offices?: unknown }).offices)
    ? (body as { offices: unknown[] }).offices : [];
  const out: BrobyggerOffice[] = [];
  for (const item of list.slice(0, 1000)) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, unknown>;
    if (typeof o['cert'] !== 'string' || typeof o['id'] !== 'string') continue;
    try {
      const cert = verifyOfficeCert(orgRoot, b64Decode(o['cert']), nowUnix);
      if (cert.kind !== BROBYGGER || cert.officeId !== o['id'] || out.some((x) => x.id === cert.officeId)) continue;
      out.push({
        id: cert.officeId, name: cert.displayName, municipality: info(o, 'municipality'), address: info(o, 'address'),
        hours: info(o, 'reception_hours'), recipientPub: cert.recipientPub,
      });
    } catch {
      // A certificate that does not verify is left out.
    }
  }
  return out.sort((a, b) => a.municipality.localeCompare(b.municipality, 'da') || a.name.localeCompare(b.name, 'da'));
}

/** Lower case without accents, so "kobenhavn" finds "København" and "aarhus" finds "Århus". */
function fold(s: string): string {
  return s.toLowerCase().replace(/ø/g, 'o').replace(/æ/g, 'ae').replace(/å/g, 'aa')
    .normalize('NFKD').replace(/\p{M}/gu, '').replace(/\s+/g, ' ').trim();
}

/** Offices whose municipality (or name) contains every word of `query`; all for an empty query. */
export function searchOffices(offices: readonly BrobyggerOffice[], query: string): BrobyggerOffice[] {
  const words = fold(query).split(' ').filter((w) => w !== '');
  return offices.filter((o) => {
    const hay = fold(`${o.municipality} ${o.name}`);
    return words.every((w) => hay.includes(w));
  });
}
