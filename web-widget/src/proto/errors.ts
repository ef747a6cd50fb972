/**
 * The one error type of the protocol module. `code` is the stable name of Rust's
 * `crypto::Error::name()`, so shared test vectors can name the expected refusal.
 * Messages never contain key material or plaintext.
 */

/** Stable error names, identical to Rust's `crypto::Error::name()`. */
export type CryptoErrorCode =
  | 'base64'
  | 'length'
  | 'cert_format'
  | 'bad_signature'
  | 'not_yet_valid'
  | 'expired'
  | 'shift_window'
  | 'zero_shared_secret'
  | 'handshake'
  | 'replay'
  | 'gap'
  | 'decrypt'
  | 'poisoned'
  | 'nonce_exhausted'
  | 'ended'
  | 'too_large'
  | 'padding'
  | 'message'
  | 'seal'
  | 'open'
  | 'referral';

/** A refusal by the protocol module; `code` says which rule refused the input. */
export class CryptoError extends Error {
  /** The stable name of the rule that refused (Rust's `Error::name()`). */
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/** Shorthand for `new CryptoError(code, message)`, for `throw fail(...)`. */
export function fail(code: CryptoErrorCode, message: string): CryptoError {
  return new CryptoError(code, message);
}
