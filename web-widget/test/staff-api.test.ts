/** The staff API client: what it sends, what it accepts, and how every failure becomes an ApiError. */

import { describe, expect, it } from 'vitest';
import { ApiError, errorFromResponse, readAccounts, readConsoleConfig, readMe, readTotpSetup, StaffApi } from '../src/staff/api.js';

interface Sent { url: string; init: RequestInit }

/** A fake `fetch` answering every request with `status` and `body` (a string is sent as is). */
function fake(status: number, body: unknown, headers: Record<string, string> = {}): { api: StaffApi; sent: Sent[] } {
  const sent: Sent[] = [];
  const api = new StaffApi(async (url, init) => {
    sent.push({ url, init });
    const text = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { 'Content-Type': 'application/json', ...headers } });
  });
  return { api, sent };
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

const account = {
  username: 'maja', alias: 'Maja', role: 'counsellor', disabled: false, totp_enabled: true, on_duty: false,
  identity: { fingerprint: 'ab12 cd34', cert: true, cert_expires: 1_800_000_000 },
};

describe('staff api requests', () => {
  /** POSTs carry JSON (also `{}`), the cookie policy is same-origin, usernames are escaped in paths. */
  it('sends JSON bodies same-origin', async () => {
    const { api, sent } = fake(204, undefined);
    await api.setDisabled('a/b', true);
    await api.resetTotp('maja');
    await api.logout();
    expect(sent.map((s) => s.url)).toEqual(['/v1/supervisor/accounts/a%2Fb/disabled', '/v1/supervisor/accounts/maja/totp_reset', '/v1/auth/logout']);
    for (const s of sent) {
      expect(s.init.method).toBe('POST');
      expect(s.init.credentials).toBe('same-origin');
      expect(new Headers(s.init.headers).get('Content-Type')).toBe('application/json');
    }
    expect(sent.map((s) => s.init.body)).toEqual(['{"disabled":true}', '{}', '{}']);
  });

  /** Login sends `totp` only when given and returns who logged in. */
  it('logs in with and without a code', async () => {
    const { api, sent } = fake(200, { username: 'sofie', alias: 'Sofie', role: 'supervisor' });
    await expect(api.login('sofie', 'pw')).resolves.toEqual({ username: 'sofie', alias: 'Sofie', role: 'supervisor' });
    await api.login('sofie', 'pw', '123456');
    expect(sent.map((s) => JSON.parse(String(s.init.body)))).toEqual([
      { username: 'sofie', password: 'pw' }, { username: 'sofie', password: 'pw', totp: '123456' },
    ]);
    expect(sent.every((s) => s.url === '/v1/auth/login')).toBe(true);
  });

  /** GETs send no body. */
  it('gets without a body', async () => {
    const { api, sent } = fake(200, { accounts: [account] });
    await expect(api.accounts()).resolves.toEqual([{
      username: 'maja', alias: 'Maja', role: 'counsellor', disabled: false, totpEnabled: true, onDuty: false,
      identity: { fingerprint: 'ab12 cd34', cert: true, certExpires: 1_800_000_000 },
    }]);
    expect(sent[0]?.init.method).toBe('GET');
    expect(sent[0]?.init.body).toBeUndefined();
  });
});

describe('staff api errors', () => {
  /** A right password without the code: 401 with `totpRequired`, which the form turns into a second step. */
  it('maps totp_required', async () => {
    const { api } = fake(401, { code: 'unauthorized', message: 'code needed', totp_required: true });
    const e = await failure(api.login('maja', 'pw'));
    expect(e).toMatchObject({ status: 401, code: 'unauthorized', message: 'code needed', totpRequired: true });
  });

  /** A plain wrong password has no `totpRequired` at all. */
  it('maps a wrong password', async () => {
    const e = await failure(fake(401, { code: 'unauthorized', message: 'wrong username or password' }).api.login('x', 'y'));
    expect(e.status).toBe(401);
    expect(e.totpRequired).toBeUndefined();
    expect(e.retryAfterS).toBeUndefined();
  });

  /** 429 takes its wait from the body, or else from `Retry-After`. */
  it('maps rate limits', async () => {
    expect(await failure(fake(429, { code: 'rate_limited', message: 'slow down', retry_after_s: 42 }).api.me()))
      .toMatchObject({ status: 429, code: 'rate_limited', retryAfterS: 42 });
    expect(await failure(fake(429, '', { 'Retry-After': '7' }).api.me())).toMatchObject({ code: 'rate_limited', retryAfterS: 7 });
  });

  /** A body without a known code still gets the code its status means; odd codes are not passed on. */
  it('falls back on the status', () => {
    expect(errorFromResponse(403, 'nope', null)).toMatchObject({ code: 'forbidden', message: 'HTTP 403' });
    expect(errorFromResponse(409, { code: 'made_up', message: 'x' }, null)).toMatchObject({ code: 'conflict', message: 'x' });
    expect(errorFromResponse(502, null, 'soon')).toMatchObject({ code: 'internal', status: 502 });
    expect(errorFromResponse(502, null, 'soon').retryAfterS).toBeUndefined();
    expect(errorFromResponse(400, { code: 'unauthorized', totp_required: true }, null).totpRequired).toBeUndefined();
  });

  /** An unreachable server is status 0, code `network`. */
  it('maps network failures', async () => {
    const api = new StaffApi(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await failure(api.me())).toMatchObject({ status: 0, code: 'network' });
  });

  /** A 200 that is not JSON, or not the promised shape, is `bad_response` naming the field. */
  it('refuses wrong shapes', async () => {
    expect(await failure(fake(200, '<html>').api.me())).toMatchObject({ code: 'bad_response' });
    const e = await failure(fake(200, { accounts: [{ ...account, role: 'admin' }] }).api.accounts());
    expect(e.code).toBe('bad_response');
    expect(e.message).toContain('accounts[0].role');
    expect(await failure(fake(201, { username: 'x' }).api.createAccount({ username: 'x', alias: 'X', role: 'counsellor' })))
      .toMatchObject({ code: 'bad_response' });
  });
});

describe('staff api readers', () => {
  /** `me` with and without an identity. */
  it('reads me', () => {
    const base = { username: 'maja', alias: 'Maja', role: 'counsellor', totp_enabled: false };
    expect(readMe({ ...base, identity: null })).toEqual({ username: 'maja', alias: 'Maja', role: 'counsellor', totpEnabled: false, identity: null });
    expect(readMe({ ...base, identity: { public_key: 'AAAA_-', fingerprint: 'ab12', cert: null } }).identity)
      .toEqual({ publicKey: 'AAAA_-', fingerprint: 'ab12', cert: null });
    expect(() => readMe({ ...base, identity: { public_key: 'a+b/', fingerprint: 'ab12', cert: null } })).toThrow(/public_key/);
    expect(() => readMe({ ...base, totp_enabled: 'no', identity: null })).toThrow(/totp_enabled/);
  });

  /** A TOTP secret must be base32 and the URI an otpauth one. */
  it('reads totp setup', () => {
    const ok = { secret: 'JBSWY3DPEHPK3PXP', uri: 'otpauth://totp/lyt:maja?secret=JBSWY3DPEHPK3PXP&issuer=lyt' };
    expect(readTotpSetup(ok)).toEqual(ok);
    expect(() => readTotpSetup({ ...ok, uri: 'javascript:alert(1)' })).toThrow(/uri/);
    expect(() => readTotpSetup({ ...ok, secret: 'jbswy3dp!' })).toThrow(/secret/);
  });

  /** The console config of the contract. */
  it('reads the console config', () => {
    const config = readConsoleConfig({
      org_root: 'abc_-', queues: [{ id: 'da/exit', names: { da: 'Exit', en: 'Getting out' } }],
      canned: { da: ['Hej'], en: ['Hello'] }, tags: { topics: ['exit'], outcomes: ['advice'], channels: ['chat', 'phone'] },
      offer_timeout_s: 30, max_capacity: 4,
    });
    expect(config).toMatchObject({ orgRoot: 'abc_-', offerTimeoutS: 30, maxCapacity: 4, canned: { en: ['Hello'] }, demo: false });
    expect(config.queues[0]?.names['en']).toBe('Getting out');
  });

  /** `identity.cert` as the contract has it (a boolean) and as lyt sends it (the certificate or null). */
  it('reads the certificate state both ways', () => {
    const withCert = (cert: unknown): unknown => ({ accounts: [{ ...account, identity: { fingerprint: 'ab12', cert, cert_expires: null } }] });
    expect(readAccounts(withCert('AAAA_-'))[0]?.identity?.cert).toBe(true);
    expect(readAccounts(withCert(null))[0]?.identity?.cert).toBe(false);
    expect(readAccounts(withCert(false))[0]?.identity?.cert).toBe(false);
    expect(() => readAccounts(withCert('not base64!'))).toThrow(/identity\.cert/);
  });

  /** An account list with a missing flag is refused as a whole. */
  it('refuses a partial account', () => {
    const { disabled: _drop, ...partial } = account;
    expect(() => readAccounts({ accounts: [partial] })).toThrow(/disabled/);
  });
});
