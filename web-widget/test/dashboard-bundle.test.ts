/** The dashboard as shipped: no browser storage, no markup strings, no inline styles, and only its own origin. */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIRS = ['../src/staff/', '../src/dashboard/'].map((d) => fileURLToPath(new URL(d, import.meta.url)));
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/** Storage (nothing about anyone is kept), markup from strings, inline styles and code from strings (the CSP forbids them anyway). */
const FORBIDDEN = /localStorage|sessionStorage|indexedDB|document\.cookie|serviceWorker|caches\.|innerHTML|outerHTML|insertAdjacentHTML|document\.write|\.style\.|setAttribute\(['"]style|\beval\(|new Function/;

describe('the dashboard sources and bundle', () => {
  /** Every source file is free of those, and short. */
  it('keeps to the rules in source', () => {
    const files = DIRS.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.ts')).map((f) => d + f));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(FORBIDDEN.exec(text)?.[0], f).toBeUndefined();
      expect(text.split('\n').length, `${f} is too long`).toBeLessThanOrEqual(400);
      for (const url of text.match(/https?:\/\/[^\s'"`]+/g) ?? []) expect(url, f).toMatch(/^http:\/\/www\.w3\.org\/2000\/svg$/);
    }
  });

  /** The built page loads only its own script and style, with no inline script or style. */
  it('ships a CSP-clean page', () => {
    const html = readFileSync(DIST + 'dashboard.html', 'utf8');
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual(['<script src="dashboard.js" defer>']);
    expect([...html.matchAll(/<link\b[^>]*>/g)].map((m) => m[0])).toEqual(['<link rel="stylesheet" href="dashboard.css">']);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/);
    const js = readFileSync(DIST + 'dashboard.js', 'utf8');
    expect(/localStorage|sessionStorage|indexedDB|document\.cookie|innerHTML/.exec(js)?.[0]).toBeUndefined();
    expect(readFileSync(DIST + 'dashboard.css', 'utf8')).not.toMatch(/@import|url\(/);
  });
});
