/**
 * The typed client for the staff HTTP API (docs/console-api.md), shared by the shift console
 * and the supervisor dashboard. Every request is same-origin with the session cookie; every
 * `POST` sends JSON; every answer is read by a strict reader, and every failure — an error
 * status, an unreachable server, a body of the wrong shape — becomes one {@link ApiError}.
 */

import { count, flag, listOf, MAX_TEXT, nullOr, obj, oneOf, ShapeError, strings, text } from './read.js';
import { parseSnapshot, type Snapshot } from './snapshot.js';

/** The error codes of PROTOCOL.md §5, plus the two the client itself produces. */
export type ErrorCode =
  | 'bad_frame' | 'too_large' | 'rate_limited' | 'unknown_queue' | 'queue_full' | 'closed' | 'not_found'
  | 'unauthorized' | 'forbidden' | 'conflict' | 'resume_expired' | 'overloaded' | 'unsupported_version'
  | 'crypto_failed' | 'internal'
  /** The server could not be reached (status 0). */
  | 'network'
  /** The server answered, but not with the shape the contract promises. */
  | 'bad_response';

const SERVER_CODES: readonly ErrorCode[] = [
  'bad_frame', 'too_large', 'rate_limited', 'unknown_queue', 'queue_full', 'closed', 'not_found', 'unauthorized',
  'forbidden', 'conflict', 'resume_expired', 'overloaded', 'unsupported_version', 'crypto_failed', 'internal',
];

/** The code a status means when the body does not say. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'bad_frame';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'too_large';
    case 429: return 'rate_limited';
    default: return 'internal';
  }
}

/** Why a request failed. `status` is the HTTP status, 0 when the server was not reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  /** For 429: how long to wait, from the body or the `Retry-After` header. */
  readonly retryAfterS?: number;
  /** For a login with a right password on an account with TOTP: ask for the code. */
  readonly totpRequired?: boolean;

  constructor(init: { status: number; code: ErrorCode; message: string; retryAfterS?: number | undefined; totpRequired?: boolean }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    if (init.retryAfterS !== undefined) this.retryAfterS = init.retryAfterS;
    if (init.totpRequired === true) this.totpRequired = true;
  }
}

/** Turns a non-2xx answer into an {@link ApiError}; the body may be anything. */
export function errorFromResponse(status: number, body: unknown, retryAfterHeader: string | null): ApiError {
  const o = typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : {};
  const bodyCode = SERVER_CODES.find((c) => c === o['code']);
  const message = typeof o['message'] === 'string' && o['message'].length > 0 ? o['message'].slice(0, 300) : `HTTP ${status}`;
  const bodyRetry = o['retry_after_s'];
  const headerRetry = retryAfterHeader !== null && /^\d{1,6}$/.test(retryAfterHeader.trim()) ? Number(retryAfterHeader.trim()) : undefined;
  const retryAfterS = typeof bodyRetry === 'number' && Number.isSafeInteger(bodyRetry) && bodyRetry >= 0 ? bodyRetry : headerRetry;
  return new ApiError({
    status, code: bodyCode ?? codeForStatus(status), message, retryAfterS,
    totpRequired: status === 401 && o['totp_required'] === true,
  });
}

/** A staff account's role. */
export type Role = 'counsellor' | 'supervisor';
const ROLES: readonly Role[] = ['counsellor', 'supervisor'];

/** Who logged in. */
export interface LoggedIn {
  readonly username: string;
  readonly alias: string;
  readonly role: Role;
}

/** The caller's enrolled identity key. */
export interface Identity {
  readonly publicKey: string;
  readonly fingerprint: string;
  /** The IdCert (base64url) once registered, else `null`. */
  readonly cert: string | null;
}

/** `GET /v1/auth/me`. */
export interface Me extends LoggedIn {
  readonly totpEnabled: boolean;
  readonly identity: Identity | null;
}

/** `POST /v1/auth/ticket`. */
export interface Ticket {
  readonly ticket: string;
  readonly expiresS: number;
}

/** `POST /v1/auth/totp/setup`: the secret, not active until confirmed. */
export interface TotpSetup {
  readonly secret: string;
  readonly uri: string;
}

/** `POST /v1/console/identity`. */
export interface Enrolment {
  readonly fingerprint: string;
  readonly cert: string | null;
}

/** A queue as the console lists it. */
export interface QueueConfig {
  readonly id: string;
  /** Display names by language code. */
  readonly names: Record<string, string>;
}

/** `GET /v1/console/config`. */
export interface ConsoleConfig {
  readonly orgRoot: string;
  readonly queues: QueueConfig[];
  /** Canned replies by language code. */
  readonly canned: Record<string, string[]>;
  readonly tags: { readonly topics: string[]; readonly outcomes: string[]; readonly channels: string[] };
  readonly offerTimeoutS: number;
  readonly maxCapacity: number;
}

/** A counsellor on duty other than the caller. */
export interface Colleague {
  readonly alias: string;
  readonly available: boolean;
}

/** An account's identity as the supervisor sees it. */
export interface AccountIdentity {
  readonly fingerprint: string;
  /** Whether a certificate is registered. */
  readonly cert: boolean;
  /** Unix seconds, when a certificate is registered. */
  readonly certExpires: number | null;
}

/** One staff account (`GET /v1/supervisor/accounts`). */
export interface Account {
  readonly username: string;
  readonly alias: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly totpEnabled: boolean;
  readonly onDuty: boolean;
  readonly identity: AccountIdentity | null;
}

/** A created account and its generated initial password (shown once). */
export interface CreatedAccount {
  readonly username: string;
  readonly password: string;
}

const name = (v: unknown, at: string): string => text(v, at, 64, 1);
const b64 = (v: unknown, at: string): string => {
  const s = text(v, at, MAX_TEXT, 1);
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new ShapeError(at, 'base64url');
  return s;
};

export function readLoggedIn(v: unknown, fallbackUsername?: string): LoggedIn {
  const o = obj(v, 'login');
  // The contract names the account in the answer; an older relay sent only alias and role.
  const username = o['username'] === undefined && fallbackUsername !== undefined ? fallbackUsername : name(o['username'], 'username');
  return { username, alias: name(o['alias'], 'alias'), role: oneOf(o['role'], 'role', ROLES) };
}

function identity(v: unknown, at: string): Identity {
  const o = obj(v, at);
  return { publicKey: b64(o['public_key'], `${at}.public_key`), fingerprint: text(o['fingerprint'], `${at}.fingerprint`, 200, 1), cert: nullOr(o['cert'], `${at}.cert`, b64) };
}

export function readMe(v: unknown): Me {
  const o = obj(v, 'me');
  return { ...readLoggedIn(o), totpEnabled: flag(o['totp_enabled'], 'totp_enabled'), identity: nullOr(o['identity'], 'identity', identity) };
}

export function readTicket(v: unknown): Ticket {
  const o = obj(v, 'ticket');
  return { ticket: text(o['ticket'], 'ticket', 1024, 1), expiresS: count(o['expires_s'], 'expires_s') };
}

export function readTotpSetup(v: unknown): TotpSetup {
  const o = obj(v, 'totp');
  const secret = text(o['secret'], 'secret', 256, 16);
  if (!/^[A-Z2-7]+=*$/.test(secret)) throw new ShapeError('secret', 'base32');
  const uri = text(o['uri'], 'uri', 1024, 1);
  if (!uri.startsWith('otpauth://totp/')) throw new ShapeError('uri', 'an otpauth://totp/ URI');
  return { secret, uri };
}

export function readEnrolment(v: unknown): Enrolment {
  const o = obj(v, 'identity');
  return { fingerprint: text(o['fingerprint'], 'fingerprint', 200, 1), cert: nullOr(o['cert'], 'cert', b64) };
}

const textList = (v: unknown, at: string): string[] => listOf(v, at, (x, a) => text(x, a, 2000), 500);

export function readConsoleConfig(v: unknown): ConsoleConfig {
  const o = obj(v, 'config');
  const tags = obj(o['tags'], 'tags');
  const canned: Record<string, string[]> = {};
  for (const [lang, list] of Object.entries(obj(o['canned'], 'canned'))) canned[text(lang, 'canned key', 32, 1)] = textList(list, `canned.${lang}`);
  return {
    orgRoot: b64(o['org_root'], 'org_root'),
    queues: listOf(o['queues'], 'queues', (q, at) => {
      const r = obj(q, at);
      return { id: text(r['id'], `${at}.id`, 64, 1), names: strings(r['names'], `${at}.names`) };
    }, 200),
    canned,
    tags: {
      topics: listOf(tags['topics'], 'tags.topics', name, 200),
      outcomes: listOf(tags['outcomes'], 'tags.outcomes', name, 200),
      channels: listOf(tags['channels'], 'tags.channels', name, 200),
    },
    offerTimeoutS: count(o['offer_timeout_s'], 'offer_timeout_s'),
    maxCapacity: count(o['max_capacity'], 'max_capacity'),
  };
}

export function readColleagues(v: unknown): Colleague[] {
  return listOf(obj(v, 'colleagues')['colleagues'], 'colleagues', (c, at) => {
    const r = obj(c, at);
    return { alias: name(r['alias'], `${at}.alias`), available: flag(r['available'], `${at}.available`) };
  }, 1000);
}

function accountIdentity(v: unknown, at: string): AccountIdentity {
  const o = obj(v, at);
  return {
    fingerprint: text(o['fingerprint'], `${at}.fingerprint`, 200, 1),
    cert: flag(o['cert'], `${at}.cert`),
    certExpires: nullOr(o['cert_expires'] ?? null, `${at}.cert_expires`, count),
  };
}

export function readAccounts(v: unknown): Account[] {
  return listOf(obj(v, 'accounts')['accounts'], 'accounts', (a, at) => {
    const r = obj(a, at);
    return {
      username: name(r['username'], `${at}.username`), alias: name(r['alias'], `${at}.alias`),
      role: oneOf(r['role'], `${at}.role`, ROLES), disabled: flag(r['disabled'], `${at}.disabled`),
      totpEnabled: flag(r['totp_enabled'], `${at}.totp_enabled`), onDuty: flag(r['on_duty'], `${at}.on_duty`),
      identity: nullOr(r['identity'], `${at}.identity`, accountIdentity),
    };
  }, 10_000);
}

export function readCreated(v: unknown): CreatedAccount {
  const o = obj(v, 'account');
  return { username: name(o['username'], 'username'), password: text(o['password'], 'password', 256, 8) };
}

/** `fetch` as the client needs it (a fake in unit tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** The staff API of one lyt origin. */
export class StaffApi {
  /** @param base the origin prefix (`''` for the page's own origin). */
  constructor(private readonly fetchFn: FetchLike = (url, init) => fetch(url, init), private readonly base = '') {}

  /** Sends a request; resolves with the parsed JSON body (`undefined` for 204), rejects with {@link ApiError}. */
  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = {
      method, credentials: 'same-origin', cache: 'no-store', referrerPolicy: 'no-referrer',
      headers: method === 'POST' ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
    };
    if (method === 'POST') init.body = JSON.stringify(body ?? {});
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, init);
    } catch {
      throw new ApiError({ status: 0, code: 'network', message: 'the server could not be reached' });
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new ApiError({ status: res.status, code: 'network', message: 'the answer was cut off' });
    }
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text) as unknown;
      } catch {
        if (res.ok) throw new ApiError({ status: res.status, code: 'bad_response', message: 'the answer is not JSON' });
      }
    }
    if (!res.ok) throw errorFromResponse(res.status, json, res.headers.get('Retry-After'));
    return json;
  }

  /** A request whose answer `read` turns into a value; a wrong shape becomes `bad_response`. */
  private async read<T>(method: 'GET' | 'POST', path: string, read: (v: unknown) => T, body?: unknown): Promise<T> {
    const json = await this.request(method, path, body);
    try {
      return read(json);
    } catch (e) {
      if (e instanceof ShapeError) throw new ApiError({ status: 200, code: 'bad_response', message: e.message });
      throw e;
    }
  }

  /** Logs in; rejects with `totpRequired` when the account needs its code (send all three again). */
  login(username: string, password: string, totp?: string): Promise<LoggedIn> {
    const body = totp === undefined ? { username, password } : { username, password, totp };
    return this.read('POST', '/v1/auth/login', (v) => readLoggedIn(v, username), body);
  }

  me(): Promise<Me> {
    return this.read('GET', '/v1/auth/me', readMe);
  }

  async logout(): Promise<void> {
    await this.request('POST', '/v1/auth/logout');
  }

  ticket(): Promise<Ticket> {
    return this.read('POST', '/v1/auth/ticket', readTicket);
  }

  totpSetup(): Promise<TotpSetup> {
    return this.read('POST', '/v1/auth/totp/setup', readTotpSetup);
  }

  async totpConfirm(code: string): Promise<void> {
    await this.request('POST', '/v1/auth/totp/confirm', { code });
  }

  /** Enrols the browser's identity key (32-byte Ed25519 public key, base64url). */
  enrolIdentity(publicKey: string): Promise<Enrolment> {
    return this.read('POST', '/v1/console/identity', readEnrolment, { public_key: publicKey });
  }

  consoleConfig(): Promise<ConsoleConfig> {
    return this.read('GET', '/v1/console/config', readConsoleConfig);
  }

  colleagues(): Promise<Colleague[]> {
    return this.read('GET', '/v1/console/colleagues', readColleagues);
  }

  snapshot(): Promise<Snapshot> {
    return this.read('GET', '/v1/supervisor/snapshot', parseSnapshot);
  }

  accounts(): Promise<Account[]> {
    return this.read('GET', '/v1/supervisor/accounts', readAccounts);
  }

  createAccount(account: { username: string; alias: string; role: Role }): Promise<CreatedAccount> {
    return this.read('POST', '/v1/supervisor/accounts', readCreated, account);
  }

  async setDisabled(username: string, disabled: boolean): Promise<void> {
    await this.request('POST', `/v1/supervisor/accounts/${encodeURIComponent(username)}/disabled`, { disabled });
  }

  /** Registers an IdCert made with `lyt cert counsellor` (base64url). */
  async registerCert(username: string, cert: string): Promise<void> {
    await this.request('POST', `/v1/supervisor/accounts/${encodeURIComponent(username)}/cert`, { cert });
  }

  /** A new generated password for `username` (`POST …/password_reset`; served by lyt, not yet in docs/console-api.md). */
  resetPassword(username: string): Promise<CreatedAccount> {
    return this.read('POST', `/v1/supervisor/accounts/${encodeURIComponent(username)}/password_reset`, readCreated);
  }

  async resetTotp(username: string): Promise<void> {
    await this.request('POST', `/v1/supervisor/accounts/${encodeURIComponent(username)}/totp_reset`);
  }
}
