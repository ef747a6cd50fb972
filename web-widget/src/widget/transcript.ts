/** The text of "download my conversation": made from the chat lines, on the device. */

import type { Lang } from '../shared/langs.js';
import { t } from './i18n.js';
import type { Line } from './state.js';

function time(ts: number): string {
  if (ts <= 0) return '';
  const d = new Date(ts * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')} `;
}

/** One line per message, notes in brackets. */
export function transcript(lang: Lang, alias: string, lines: readonly Line[]): string {
  const out = [t(lang, 'transcriptHeader', { alias }), ''];
  for (const l of lines) {
    if (l.offer !== undefined) {
      const o = l.offer;
      const answer = o.answer === undefined ? '' : ` ${t(lang, o.answer === 'yes' ? 'referralSaidYes' : 'referralSaidNo')}`;
      out.push(`[${t(lang, 'referralOfferTitle', { alias, office: o.officeName })}: ${o.fields.join('; ')}.${answer}]`);
    } else if (l.code !== undefined) {
      const c = l.code;
      out.push(`[${t(lang, 'referralCodeTitle', { office: c.officeName })}: ${c.code}. ${t(lang, 'referralAddress', { address: c.address })}. ${t(lang, 'referralHours', { hours: c.hours })}]`);
    } else if (l.who === 'note') out.push(l.note ? `[${t(lang, l.note.key, l.note.vars ?? {})}]` : `[${l.text}]`);
    else out.push(`${time(l.ts)}${l.who === 'me' ? t(lang, 'you') : alias}: ${l.text}`);
  }
  return `${out.join('\n')}\n`;
}
