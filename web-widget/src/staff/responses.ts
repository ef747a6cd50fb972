/**
 * The answers of the staff HTTP API (docs/console-api.md) as camel-cased types, and the strict
 * readers that make them from JSON; a reader throws `ShapeError` naming the field that is wrong.
 */

import { count, flag, listOf, MAX_TEXT, nullOr, obj, oneOf, ShapeError, strings, text } from './read.js';

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
  /** Demo mode (identity certificates are issued at once); `false` when the server does not say. */
  readonly demo: boolean;
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

/** The login answer; `fallbackUsername` stands in for a missing `username` (relays before the contract sent only alias and role). */
export function readLoggedIn(v: unknown, fallbackUsername?: string): LoggedIn {
  const o = obj(v, 'login');
  const username = o['username'] === undefined && fallbackUsername !== undefined ? fallbackUsername : name(o['username'], 'username');
  return { username, alias: name(o['alias'], 'alias'), role: oneOf(o['role'], 'role', ROLES) };
}

function identity(v: unknown, at: string): Identity {
  const o = obj(v, at);
  return { publicKey: b64(o['public_key'], `${at}.public_key`), fingerprint: text(o['fingerprint'], `${at}.fingerprint`, 200, 1), cert: nullOr(o['cert'], `${at}.cert`, b64) };
}

/** `GET /v1/auth/me`. */
export function readMe(v: unknown): Me {
  const o = obj(v, 'me');
  return { ...readLoggedIn(o), totpEnabled: flag(o['totp_enabled'], 'totp_enabled'), identity: nullOr(o['identity'], 'identity', identity) };
}

/** `POST /v1/auth/ticket`. */
export function readTicket(v: unknown): Ticket {
  const o = obj(v, 'ticket');
  return { ticket: text(o['ticket'], 'ticket', 1024, 1), expiresS: count(o['expires_s'], 'expires_s') };
}

/** `POST /v1/auth/totp/setup`: a base32 secret and an `otpauth://totp/` URI, nothing else. */
export function readTotpSetup(v: unknown): TotpSetup {
  const o = obj(v, 'totp');
  const secret = text(o['secret'], 'secret', 256, 16);
  if (!/^[A-Z2-7]+=*$/.test(secret)) throw new ShapeError('secret', 'base32');
  const uri = text(o['uri'], 'uri', 1024, 1);
  if (!uri.startsWith('otpauth://totp/')) throw new ShapeError('uri', 'an otpauth://totp/ URI');
  return { secret, uri };
}

/** `POST /v1/console/identity`. */
export function readEnrolment(v: unknown): Enrolment {
  const o = obj(v, 'identity');
  return { fingerprint: text(o['fingerprint'], 'fingerprint', 200, 1), cert: nullOr(o['cert'], 'cert', b64) };
}

const textList = (v: unknown, at: string): string[] => listOf(v, at, (x, a) => text(x, a, 2000), 500);

/** `GET /v1/console/config`. */
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
    demo: o['demo'] === undefined ? false : flag(o['demo'], 'demo'),
  };
}

/** `GET /v1/console/colleagues`. */
export function readColleagues(v: unknown): Colleague[] {
  return listOf(obj(v, 'colleagues')['colleagues'], 'colleagues', (c, at) => {
    const r = obj(c, at);
    return { alias: name(r['alias'], `${at}.alias`), available: flag(r['available'], `${at}.available`) };
  }, 1000);
}

/**
 * Whether a certificate is registered: the contract says a boolean; lyt (0834d60) sends the
 * certificate itself or `null`, as in `/v1/auth/me`. Both are read.
 */
function certRegistered(v: unknown, at: string): boolean {
  return typeof v === 'boolean' ? v : nullOr(v, at, b64) !== null;
}

function accountIdentity(v: unknown, at: string): AccountIdentity {
  const o = obj(v, at);
  return {
    fingerprint: text(o['fingerprint'], `${at}.fingerprint`, 200),
    cert: certRegistered(o['cert'], `${at}.cert`),
    certExpires: nullOr(o['cert_expires'] ?? null, `${at}.cert_expires`, count),
  };
}

/** `GET /v1/supervisor/accounts`. */
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

/** `POST /v1/supervisor/accounts` and `…/password_reset`: the username and its generated password. */
export function readCreated(v: unknown): CreatedAccount {
  const o = obj(v, 'account');
  return { username: name(o['username'], 'username'), password: text(o['password'], 'password', 256, 8) };
}
