/**
 * Outside opening hours (the server configured to open only on another weekday, in the
 * organisation's time zone): the widget says the chat is closed, with the hours, in plain
 * words, and passes axe.
 */

import AxeBuilder from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { artifact, launch, openFromDemo, type Server, startServer } from './harness.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** A weekday (mon..sun) that is not today in Copenhagen. */
function anotherDay(): string {
  const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Copenhagen', weekday: 'short' })
    .format(new Date())
    .slice(0, 3)
    .toLowerCase();
  const i = DAYS.indexOf(today as (typeof DAYS)[number]);
  return DAYS[(i + 3) % 7]!;
}

let server: Server;
let browser: Browser;

beforeAll(async () => {
  const day = anotherDay();
  server = await startServer({
    env: { [`LYT_HOURS__WEEKLY__${day.toUpperCase()}`]: '09:00-10:00', LYT_HOURS__TEXT: `${day} 9-10` },
  });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('closed', () => {
  /** The status screen says closed with the configured hours; axe finds no violations. */
  it('says so with the hours', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    const widget = await openFromDemo(server, page);
    await widget.getByText('Chatten er lukket lige nu.', { exact: false }).first().waitFor();
    await widget.getByText(`${anotherDay()} 9-10`, { exact: false }).first().waitFor();
    await page.screenshot({ path: artifact('closed-phone.png') });
    const frame = page.frames().find((f) => f.url().includes('/widget/'));
    expect(frame).toBeDefined();
    const result = await new AxeBuilder({ page }).include('iframe').analyze();
    expect(result.violations.map((v) => v.id)).toEqual([]);
    await context.close();
  });
});
