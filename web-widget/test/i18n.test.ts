/** The catalogues: every key in every language, the same placeholders, and review flags where needed. */

import { describe, expect, it } from 'vitest';
import { LANGS } from '../src/shared/langs.js';
import { CATALOGUES, placeholders, t } from '../src/widget/i18n.js';
import { en } from '../src/widget/i18n/en.js';
import { LAUNCHER_LABEL } from '../src/embed-config.js';

describe('i18n', () => {
  /** Every catalogue has exactly English's keys, non-empty, with the same placeholders. */
  it.each(LANGS)('%s is complete', (lang) => {
    const cat = CATALOGUES[lang] as unknown as Record<string, unknown>;
    expect(Object.keys(cat).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) {
      if (key === 'needsReview') continue;
      const value = cat[key];
      expect(typeof value === 'string' && value.trim() !== '', `${lang}.${key}`).toBe(true);
      expect(placeholders(value as string), `${lang}.${key}`).toEqual(placeholders(String(text)));
    }
    expect(LAUNCHER_LABEL[lang]).not.toBe('');
  });

  /** Danish and English are final; Thai, Romanian and Bulgarian are marked for a native speaker's review. */
  it('marks drafts for review', () => {
    expect(LANGS.filter((l) => CATALOGUES[l].needsReview)).toEqual(['th', 'ro', 'bg']);
  });

  /** Placeholders are filled; unknown ones stay visible rather than vanish. */
  it('fills placeholders', () => {
    expect(t('en', 'talkingWith', { alias: 'Ali' })).toBe('You are talking with Ali');
    expect(t('da', 'queuePosition', { position: 2 })).toBe('Du er nummer 2 i køen.');
    expect(t('en', 'talkingWith')).toBe('You are talking with {alias}');
  });
});
