/**
 * The typed client for the staff HTTP API (docs/console-api.md), shared by the shift console
 * and the supervisor dashboard. Every request is same-origin with the session cookie; every
 * `POST` sends JSON; every answer is read by a strict reader, and every failure — an error
 * status, an unreachable server, a body of the wrong shape — becomes one {@link ApiError}.
 */

import { ShapeError } from './read.js';
import {
  type Account, type Colleague, type ConsoleConfig, type CreatedAccount, type Enrolment, type LoggedIn, type Me, readAccounts,
  readColleagues, readConsoleConfig, readCreated, readEnrolment, readLoggedIn, readMe, readTicket, readTotpSetup, type Role,
  type Ticket, type TotpSetup,
} from './responses.js';
import { parseSnapshot, type Snapshot } from './snapshot.js';

export * from './responses.js';

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

  /** A new generated password for `username`, shown once; the account's sessions end. */
  resetPassword(username: string): Promise<CreatedAccount> {
    return this.read('POST', `/v1/supervisor/accounts/${encodeURIComponent(username)}/password_reset`, readCreated);
  }

  async resetTotp(username: string): Promise<void> {
    await this.request('POST', `/v1/supervisor/accounts/${encodeURIComponent(username)}/totp_reset`);
  }
}
