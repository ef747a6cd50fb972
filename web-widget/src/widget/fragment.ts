/** The widget's configuration from its URL fragment (`#root=…&lang=…&exit=…`), which never reaches a server. */

import { b64DecodeExact } from '../proto/index.js';
import { type Lang, toLang } from '../shared/langs.js';

export interface WidgetConfig {
  /** The pinned org root public key; `undefined` if missing or malformed (then no chat can start). */
  readonly orgRoot: Uint8Array | undefined;
  readonly lang: Lang;
  /** Where quick exit goes when the widget is opened on its own. */
  readonly exitUrl: string;
}

/** Parses `location.hash`. */
export function parseFragment(hash: string): WidgetConfig {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  let orgRoot: Uint8Array | undefined;
  try {
    orgRoot = b64DecodeExact(p.get('root') ?? '', 32, 'root');
  } catch {
    orgRoot = undefined;
  }
  let exitUrl = 'https://www.google.com/';
  try {
    const u = new URL(p.get('exit') ?? '');
    if (u.protocol === 'https:' || u.protocol === 'http:') exitUrl = u.href;
  } catch {
    // keep the default
  }
  return { orgRoot, lang: toLang(p.get('lang')), exitUrl };
}
