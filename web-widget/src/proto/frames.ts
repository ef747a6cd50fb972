/**
 * The WebSocket frames of PROTOCOL.md §3 as TypeScript types: what a visitor and a counsellor
 * send, and what the server sends (Rust's `protocol/frames.rs`, including `welcome` and the
 * `ended` reasons of docs/protocol.md). Binary values are base64url strings, as on the wire;
 * the strict validator for server frames is in `server-frames.ts`.
 */

import type { WireBundle } from './bundle.js';
import type { WireSealed } from './seal.js';

/** A conversation id: base64url of 16 bytes (22 characters). */
export type ConvIdText = string;
/** A queue id `lang/topic`, e.g. `da/exit`. */
export type QueueIdText = string;

/** Error codes of PROTOCOL.md §5. */
export type ErrorCode =
  | 'bad_frame' | 'too_large' | 'rate_limited' | 'unknown_queue' | 'queue_full' | 'closed' | 'not_found'
  | 'unauthorized' | 'forbidden' | 'conflict' | 'resume_expired' | 'overloaded' | 'unsupported_version'
  | 'crypto_failed' | 'internal';

/** Every error code, for validation. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'bad_frame', 'too_large', 'rate_limited', 'unknown_queue', 'queue_full', 'closed', 'not_found',
  'unauthorized', 'forbidden', 'conflict', 'resume_expired', 'overloaded', 'unsupported_version',
  'crypto_failed', 'internal',
];

/** The `ended` reasons the relay sends today (docs/protocol.md); others are slugs too. */
export type KnownEndedReason =
  | 'counsellor_ended' | 'visitor_left' | 'transferred' | 'offer_expired' | 'offer_withdrawn' | 'crypto_failed' | 'timeout'
  | 'state_lost' | 'resume_failed' | 'reassigned';

/** WebSocket close codes of PROTOCOL.md §5. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_LARGE: 1009,
  INTERNAL: 1011,
  OVERLOADED: 1013,
} as const;

/** Largest WebSocket frame either side sends (64 KiB). */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Anonymous categories a counsellor attaches to an ended contact (slugs only). */
export interface Tags {
  readonly topic?: readonly string[];
  readonly outcome?: string;
  readonly channel?: string;
}

/** A frame a visitor sends on `/v1/visitor`. */
export type VisitorFrame =
  | { readonly t: 'join'; readonly queue: QueueIdText }
  | { readonly t: 'hs1'; readonly conv: ConvIdText; readonly m: string }
  | { readonly t: 'data'; readonly conv: ConvIdText; readonly n: number; readonly m: string }
  | { readonly t: 'ack'; readonly conv: ConvIdText; readonly upto: number }
  | { readonly t: 'resume'; readonly token: string; readonly conv: ConvIdText; readonly upto?: number }
  | { readonly t: 'callback'; readonly queue: QueueIdText; readonly id: ConvIdText; readonly sealed: WireSealed }
  | { readonly t: 'leave' };

/** A frame a counsellor sends on `/v1/counsellor`. */
export type CounsellorFrame =
  | { readonly t: 'auth'; readonly ticket: string }
  | {
      readonly t: 'duty'; readonly on: boolean;
      readonly skills?: { readonly langs: readonly string[]; readonly topics: readonly string[] };
      readonly capacity?: number; readonly bundle?: WireBundle;
    }
  | { readonly t: 'accept'; readonly conv: ConvIdText }
  | { readonly t: 'decline'; readonly conv: ConvIdText }
  | { readonly t: 'hs2'; readonly conv: ConvIdText; readonly m: string }
  | { readonly t: 'data'; readonly conv: ConvIdText; readonly n: number; readonly m: string }
  | { readonly t: 'ack'; readonly conv: ConvIdText; readonly upto: number }
  | { readonly t: 'transfer'; readonly conv: ConvIdText; readonly to: { readonly queue: QueueIdText } | { readonly alias: string } }
  | { readonly t: 'end'; readonly conv: ConvIdText; readonly tags?: Tags }
  | { readonly t: 'break'; readonly on: boolean }
  | { readonly t: 'referral'; readonly conv: ConvIdText; readonly id: ConvIdText; readonly office_id: string; readonly sealed: WireSealed }
  | { readonly t: 'call_log'; readonly started: number; readonly ended: number; readonly language?: string; readonly tags: Tags }
  | { readonly t: 'callback_done'; readonly id: string; readonly tags?: Tags };

/** Limits announced in the server's `hello`. */
export interface Limits {
  readonly max_frame: number;
  readonly max_text_chars: number;
  readonly ping_s: number;
  readonly idle_s: number;
}

/** A pending callback request as listed to the phone desk. */
export interface CallbackItem {
  readonly id: string;
  readonly queue: QueueIdText;
  readonly sealed: WireSealed;
  readonly age_s: number;
}

/** A frame the server sends, to a visitor or a counsellor. */
export type ServerFrame =
  | { readonly t: 'hello'; readonly v: number; readonly limits: Limits }
  | { readonly t: 'queued'; readonly conv: ConvIdText; readonly position: number; readonly eta_s: number; readonly resume: string }
  | { readonly t: 'assigned'; readonly conv: ConvIdText; readonly bundle: WireBundle; readonly alias: string }
  | { readonly t: 'offer'; readonly conv: ConvIdText; readonly queue: QueueIdText; readonly waited_s: number; readonly expires_s: number }
  | { readonly t: 'welcome'; readonly alias: string; readonly role: string }
  | { readonly t: 'resumed'; readonly conv: ConvIdText; readonly have?: number }
  | { readonly t: 'stored'; readonly conv: ConvIdText; readonly upto: number }
  | { readonly t: 'on_break'; readonly reason: string }
  | { readonly t: 'peer'; readonly conv: ConvIdText; readonly state: 'away' | 'back' | (string & {}) }
  | { readonly t: 'callback_received'; readonly id: ConvIdText }
  | { readonly t: 'ended'; readonly conv: ConvIdText; readonly reason: KnownEndedReason | (string & {}) }
  | { readonly t: 'referral_stored'; readonly conv: ConvIdText; readonly code: string }
  | { readonly t: 'call_logged'; readonly started: number; readonly ended: number }
  | { readonly t: 'callbacks'; readonly items: readonly CallbackItem[] }
  | { readonly t: 'error'; readonly code: ErrorCode; readonly message: string; readonly retry_after_s?: number }
  | { readonly t: 'hs1'; readonly conv: ConvIdText; readonly m: string }
  | { readonly t: 'hs2'; readonly conv: ConvIdText; readonly m: string }
  | { readonly t: 'data'; readonly conv: ConvIdText; readonly n: number; readonly m: string };

/** The `t` of every server frame. */
export type ServerFrameType = ServerFrame['t'];

/** Serialises a client frame as the text of one WebSocket message. */
export function encodeFrame(frame: VisitorFrame | CounsellorFrame): string {
  return JSON.stringify(frame);
}
