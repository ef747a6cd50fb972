/** `GET /v1/status` read defensively: the widget shows only what has the expected shape. */

import type { QueueInfo, StatusInfo } from './state.js';

const QUEUE_ID = /^[a-z]{2,3}\/[a-z0-9_-]{1,32}$/;
const MAX_TEXT = 200;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shortText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_TEXT;

function queue(v: unknown): QueueInfo[] {
  if (!isRecord(v) || typeof v['id'] !== 'string' || !QUEUE_ID.test(v['id']) || !isRecord(v['names'])) return [];
  const etaS = v['eta_s'];
  if (typeof etaS !== 'number' || !Number.isFinite(etaS) || etaS < 0) return [];
  const names = Object.fromEntries(Object.entries(v['names']).filter((e): e is [string, string] => shortText(e[1])));
  return [{ id: v['id'], names, etaS }];
}

/** The status, or `undefined` if the body is not a status. Queues that are malformed are left out. */
export function parseStatus(v: unknown): StatusInfo | undefined {
  if (!isRecord(v) || typeof v['open'] !== 'boolean' || !shortText(v['hours']) || !Array.isArray(v['queues'])) return undefined;
  const phone = v['phone'];
  if (!isRecord(phone) || !shortText(phone['number']) || !shortText(phone['hours'])) return undefined;
  return {
    open: v['open'], hours: v['hours'], queues: v['queues'].slice(0, 50).flatMap(queue),
    phone: { number: phone['number'], hours: phone['hours'] },
  };
}
