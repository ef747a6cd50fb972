/** What the accounts and two-step login views say: identity state, pasted certificates, the secret in groups. */

import { describe, expect, it } from 'vitest';
import type { Account } from '../src/staff/api.js';
import { cleanPastedCert, identityText } from '../src/dashboard/accounts.js';
import { groupSecret } from '../src/dashboard/totp.js';

const base: Account = { username: 'maja', alias: 'Maja', role: 'counsellor', disabled: false, totpEnabled: false, onDuty: false, identity: null };
const NOW = Date.UTC(2026, 10, 23, 12) / 1000;

describe('identity column', () => {
  /** Each state of the enrolment, with the certificate's expiry as a date. */
  it('says where the identity stands', () => {
    expect(identityText(base, NOW)).toBe('No key enrolled yet');
    expect(identityText({ ...base, identity: { fingerprint: 'ab12 cd34', cert: false, certExpires: null } }, NOW)).toBe('Key ab12 cd34: waiting for a certificate');
    expect(identityText({ ...base, identity: { fingerprint: 'ab12', cert: true, certExpires: NOW + 90 * 86_400 } }, NOW)).toMatch(/^Key ab12: certificate valid until 2027-02-2[01]$/);
    expect(identityText({ ...base, identity: { fingerprint: 'ab12', cert: true, certExpires: NOW - 1 } }, NOW)).toMatch(/certificate expired 2026-11-2[23]/);
  });
});

describe('pasted certificates', () => {
  /** Line breaks and spaces from a terminal are dropped; everything else is the server's to judge. */
  it('removes whitespace only', () => {
    expect(cleanPastedCert('  AAAA\nBBBB\r\n CC_-  ')).toBe('AAAABBBBCC_-');
    expect(cleanPastedCert('AA+/==')).toBe('AA+/==');
  });
});

describe('totp secret', () => {
  /** Groups of four, padding dropped. */
  it('groups the secret', () => {
    expect(groupSecret('JBSWY3DPEHPK3PXP')).toBe('JBSW Y3DP EHPK 3PXP');
    expect(groupSecret('ABCDEF==')).toBe('ABCD EF');
  });
});
