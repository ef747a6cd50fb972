/**
 * Quick exit, by button and by Shift×3 in the widget and on the host page: the host page ends up
 * on the neutral site, nothing is left in the browser's storage, and no request went anywhere
 * but the relay before that final navigation.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { fakeExitSite, launch, openFromDemo, QUICK_EXIT_URL, type Server, startServer } from './harness.js';

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ bot: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface Setup { context: BrowserContext; page: Page; widget: FrameLocator; requests: string[]; exits: string[]; conv: string }

/** A fresh context with a chat under way (so there are keys and messages to forget). */
async function inChat(): Promise<Setup> {
  const context = await browser.newContext();
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const exits = await fakeExitSite(context);
  const page = await context.newPage();
  const widget = await openFromDemo(server, page);
  await widget.getByRole('button', { name: 'Start chat' }).click();
  await widget.getByRole('heading', { name: 'Du taler med Ali' }).waitFor({ timeout: 20_000 });
  await widget.getByLabel('Din besked').fill('canary-7731');
  await widget.getByLabel('Din besked').press('Enter');
  await widget.locator('li.them', { hasText: 'message no. 1' }).waitFor({ timeout: 15_000 });
  const bot = server.startBot();
  await bot.wait(/safety code/);
  const conv = bot.all.flatMap((l) => /^DEMO bot chat (\S+) safety code/.exec(l)?.slice(1) ?? []).at(-1) ?? '';
  return { context, page, widget, requests, exits, conv };
}

/** The page is on the neutral site, every earlier request went to the relay, and no storage of the relay's origin holds anything. */
async function expectTraceFree(s: Setup): Promise<void> {
  await s.page.waitForURL(QUICK_EXIT_URL, { timeout: 10_000 });
  expect(s.exits).toEqual([QUICK_EXIT_URL]);
  // The widget said `leave`: the relay ended the chat at once, and the counsellor's side knows.
  await server.startBot().wait(new RegExp(`^DEMO bot chat ${s.conv} ended$`), 5_000);
  const relay = new URL(server.url).origin;
  const foreign = s.requests.filter((u) => !u.startsWith(`${relay}/`) && !u.startsWith('blob:') && u !== QUICK_EXIT_URL);
  expect(foreign).toEqual([]);
  expect(s.requests.at(-1)).toBe(QUICK_EXIT_URL);
  expect(await s.context.cookies()).toEqual([]);
  const state = await s.context.storageState({ indexedDB: true });
  expect(state.origins).toEqual([]);
  // Look from inside the relay's origin in the same tab (sessionStorage is per tab).
  await s.page.goto(`${server.url}/v1/status`);
  const inside = await s.page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    idb: (await indexedDB.databases()).length,
    sw: (await navigator.serviceWorker?.getRegistrations())?.length ?? 0,
    caches: (await caches.keys()).length,
  }));
  expect(inside).toEqual({ local: 0, session: 0, idb: 0, sw: 0, caches: 0 });
  await s.context.close();
}

describe('quick exit', () => {
  /** The visible button. */
  it('leaves by the button', async () => {
    const s = await inChat();
    await s.widget.getByRole('button', { name: 'Hurtig exit' }).click();
    await expectTraceFree(s);
  });

  /** Shift three times while typing in the widget. */
  it('leaves by Shift×3 in the widget', async () => {
    const s = await inChat();
    await s.widget.getByLabel('Din besked').focus();
    for (let i = 0; i < 3; i++) await s.page.keyboard.press('Shift');
    await expectTraceFree(s);
  });

  /** Shift three times on the host page. */
  it('leaves by Shift×3 on the host page', async () => {
    const s = await inChat();
    await s.page.locator('h1').click();
    for (let i = 0; i < 3; i++) await s.page.keyboard.press('Shift');
    await expectTraceFree(s);
  });

  /** Opened on its own (no host page), the widget replaces its own location. */
  it('leaves when opened directly', async () => {
    const context = await browser.newContext();
    const exits = await fakeExitSite(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/demo`);
    const root = await page.locator('script[data-org-root]').getAttribute('data-org-root');
    await page.goto(`${server.url}/widget/#root=${root}&lang=en&exit=${encodeURIComponent(QUICK_EXIT_URL)}`);
    await page.getByRole('button', { name: 'Quick exit' }).click();
    await page.waitForURL(QUICK_EXIT_URL);
    expect(exits).toEqual([QUICK_EXIT_URL]);
    await context.close();
  });
});
