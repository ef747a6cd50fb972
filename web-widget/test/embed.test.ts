/** The embed snippet's configuration and the Shift×3 quick-exit detector. */

import { describe, expect, it } from 'vitest';
import { DEFAULT_QUICK_EXIT, parseEmbedConfig, widgetUrl } from '../src/embed-config.js';
import { isQuickExitMessage, QUICK_EXIT_MESSAGE, TripleShift } from '../src/shared/triple-shift.js';
import { parseFragment } from '../src/widget/fragment.js';

const ROOT = 'A'.repeat(42) + 'E';

describe('embed config', () => {
  /** A full snippet: origin only from data-relay, language and exit kept, all in the fragment. */
  it('parses the data attributes', () => {
    const c = parseEmbedConfig({ relay: 'https://chat.example.org/some/path', orgRoot: ROOT, lang: 'EN', quickExit: 'https://www.dr.dk/vejret' });
    expect(c).toEqual({ relayOrigin: 'https://chat.example.org', orgRoot: ROOT, lang: 'en', quickExit: 'https://www.dr.dk/vejret' });
    if ('error' in c) throw new Error('unexpected');
    const url = new URL(widgetUrl(c));
    expect(url.origin + url.pathname + url.search).toBe('https://chat.example.org/widget/');
    const frag = parseFragment(url.hash);
    expect([frag.lang, frag.exitUrl, frag.orgRoot?.length]).toEqual(['en', 'https://www.dr.dk/vejret', 32]);
  });

  /** Missing or unknown values fall back to Danish and a neutral exit; a bad relay or root is refused. */
  it('falls back and refuses', () => {
    const c = parseEmbedConfig({ relay: 'http://127.0.0.1:8080', orgRoot: ROOT, lang: 'xx', quickExit: 'javascript:alert(1)' });
    expect(c).toMatchObject({ lang: 'da', quickExit: DEFAULT_QUICK_EXIT });
    expect(parseEmbedConfig({ relay: 'ftp://x', orgRoot: ROOT })).toHaveProperty('error');
    expect(parseEmbedConfig({ orgRoot: ROOT })).toHaveProperty('error');
    expect(parseEmbedConfig({ relay: 'https://x', orgRoot: 'short' })).toHaveProperty('error');
    expect(parseEmbedConfig({ relay: 'https://x', orgRoot: ROOT + '=' })).toHaveProperty('error');
  });

  /** The fragment parser never trusts a bad root or a non-http exit. */
  it('parses a bad fragment safely', () => {
    expect(parseFragment('#root=xyz&lang=th&exit=data:text/html,hi')).toEqual({ orgRoot: undefined, lang: 'th', exitUrl: 'https://www.google.com/' });
  });

  /** Only the exact quick-exit message shape is accepted. */
  it('checks the message shape', () => {
    expect(isQuickExitMessage({ type: QUICK_EXIT_MESSAGE })).toBe(true);
    for (const bad of [QUICK_EXIT_MESSAGE, null, [], { type: 'other' }, { type: QUICK_EXIT_MESSAGE, extra: 1 }]) {
      expect(isQuickExitMessage(bad)).toBe(false);
    }
  });
});

describe('Shift×3', () => {
  const shift = { key: 'Shift', repeat: false };

  /** Three presses within 1.5 s trigger; the count starts again after. */
  it('triggers on the third press', () => {
    const d = new TripleShift();
    expect([d.press(shift, 0), d.press(shift, 400), d.press(shift, 900)]).toEqual([false, false, true]);
    expect(d.press(shift, 1000)).toBe(false);
  });

  /** Presses spread over more than 1.5 s do not. */
  it('needs them close together', () => {
    const d = new TripleShift();
    expect([d.press(shift, 0), d.press(shift, 1000), d.press(shift, 2000)]).toEqual([false, false, false]);
    expect(d.press(shift, 2400)).toBe(true);
  });

  /** Typing (other keys in between) and holding Shift (auto-repeat) never trigger. */
  it('ignores typing and held keys', () => {
    const d = new TripleShift();
    expect([d.press(shift, 0), d.press(shift, 100), d.press({ key: 'A', repeat: false }, 150), d.press(shift, 200)]).toEqual([false, false, false, false]);
    const held = new TripleShift();
    expect([held.press(shift, 0), held.press({ key: 'Shift', repeat: true }, 30), held.press({ key: 'Shift', repeat: true }, 60)]).toEqual([false, false, false]);
  });
});
