/**
 * lyt's protocol and crypto module for the browser (PROTOCOL.md §1, §2, §4): certificate
 * chains, the Noise NK session, padding, application messages, sealed envelopes and the
 * WebSocket frame types. Pure: no DOM storage, no network, no timers.
 */

export { CryptoError } from './errors.js';
export type { CryptoErrorCode } from './errors.js';
export { b64Decode, b64DecodeExact, b64Encode } from './b64.js';
export {
  encodeIdCertBody, encodeOfficeCertBody, encodeShiftCertBody, parseIdCert, parseOfficeCert, parseShiftCert,
  signCert, verifyIdCert, verifyOfficeCertSignature, verifyShiftCert,
  MAX_ALIAS_LEN, MAX_OFFICE_ID_LEN, MAX_OFFICE_NAME_LEN,
} from './cert.js';
export type { IdCert, OfficeCert, OfficeKind, Role, ShiftCert } from './cert.js';
export { bundleHash, verifyBundle, verifyOfficeCert, CLOCK_SKEW_SECS, MAX_SHIFT_SECS } from './bundle.js';
export type { VerifiedBundle, WireBundle } from './bundle.js';
export { ed25519Public, ed25519Sign, fingerprint, verifyStrict, x25519Public, x25519Shared } from './keys.js';
export { HANDSHAKE_MSG_LEN, Initiator, PROTOCOL_NAME, prologue, respondHandshake, respondHandshakeWith } from './noise.js';
export { MAX_COUNTER, Session } from './session.js';
export type { Encrypted } from './session.js';
export { BUCKETS, MAX_JSON_LEN, pad, unpad } from './pad.js';
export {
  encodeAppMessage, MAX_TEXT_CHARS, offerHash, parseAppMessage, receiveMessage, sendMessage,
} from './message.js';
export type { AppMessage, AppMessageKind, Received } from './message.js';
export {
  CALLBACK_INFO, openCallback, openReferral, REFERRAL_INFO_PREFIX, referralInfo, referralSignatureMessage,
  sealCallback, sealedFromWire, sealedToWire, sealReferral,
} from './seal.js';
export type { Sealed, WireSealed } from './seal.js';
export { CloseCode, encodeFrame, ERROR_CODES, MAX_FRAME_BYTES } from './frames.js';
export type {
  CallbackItem, ConvIdText, CounsellorFrame, ErrorCode, KnownEndedReason, Limits, QueueIdText, ServerFrame,
  ServerFrameType, Tags, VisitorFrame,
} from './frames.js';
export { FrameError, parseServerFrame } from './server-frames.js';
export { buildReferralPlaintext, openReferralPlaintext, signReferralPlaintext } from './referral.js';
export type { OpenedReferral, ReferralSigner } from './referral.js';
