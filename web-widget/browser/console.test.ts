/**
 * A whole shift in the console against the real relay (demo mode) and the real visitor
 * widget: log in as Maja, enrol the browser's identity key (demo certificate), go on duty,
 * a visitor joins, the offer is accepted, messages go both ways under equal safety codes,
 * the console is reloaded mid-chat and the chat goes on under a renewed session, the chat
 * is transferred to Ali (a second console) and ended there with tags; the phone desk opens
 * a sealed callback request with the desk key file and marks it done.
 */

import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { artifact, launch, LYT_BIN, openFromDemo, type Server, startServer } from './harness.js';

let server: Server;
let browser: Browser;
let passwords: Record<string, string>;

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  const accounts = JSON.parse(readFileSync(join(server.dir, 'accounts.json'), 'utf8')) as { username: string; password: string }[];
  passwords = Object.fromEntries(accounts.map((a) => [a.username, a.password]));
  for (const file of ['console.js', 'console.css', 'console.html']) {
    const path = file === 'console.html' ? '/console/' : `/console/${file}`;
    const served = await (await fetch(`${server.url}${path}`)).text();
    const built = readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');
    if (served !== built) throw new Error(`${LYT_BIN} serves another ${file} than dist/: run \`cargo build\` after \`npm run build\``);
  }
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** axe (WCAG 2.1 A/AA and best practice) finds nothing on the page as it is now. */
async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(result.violations.map((v) => `${screen}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** Opens the console, logs in, enrols (the demo certifies at once) and goes on duty. */
async function startShift(context: BrowserContext, username: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // Failed requests are checked below by URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    // Before login `GET /v1/auth/me` answers 401: that is how the page learns to show the form.
    const expected = r.url().endsWith('/v1/auth/me') && r.status() === 401;
    if (r.status() >= 400 && !expected && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(`${server.url}/console/`);
  await page.getByRole('heading', { name: 'Shift console' }).waitFor();
  await axe(page, 'login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(passwords[username]!);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Create my identity key' }).click();
  await page.getByRole('heading', { name: 'Your identity key is ready' }).waitFor();
  await axe(page, 'enrolled');
  await expect(page.locator('.fingerprint').textContent()).resolves.toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);
  await page.getByRole('button', { name: 'Continue' }).click();
  await axe(page, 'duty form');
  await page.getByRole('button', { name: 'Go on duty' }).click();
  await page.getByText(/^On duty — 0 of 2 chats\.$/).waitFor();
  expect(errors).toEqual([]);
  return page;
}

/** The six-digit code the console shows for the chat in view. */
async function consoleCode(page: Page): Promise<string> {
  const code = page.locator('section.chat:visible .safety .code');
  await expect.poll(async () => (await code.textContent()) ?? '', { timeout: 15_000 }).toMatch(/^\d{6}$/);
  return (await code.textContent())!;
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

async function visitorSays(widget: FrameLocator, text: string): Promise<void> {
  await widget.getByLabel('Din besked').fill(text);
  await widget.getByRole('button', { name: 'Send' }).click();
}

describe('the shift console', () => {
  it('runs a whole shift', async () => {
    const size = { viewport: { width: 1280, height: 860 } };
    const majaCtx = await browser.newContext(size);
    const maja = await startShift(majaCtx, 'maja');
    await maja.screenshot({ path: artifact('console-on-duty.png') });

    // The supervisor watches the shift on the dashboard.
    const sofieCtx = await browser.newContext(size);
    const sofie = await sofieCtx.newPage();
    await sofie.goto(`${server.url}/dashboard/`);
    await sofie.getByLabel('Username').fill('sofie');
    await sofie.getByLabel('Password').fill(passwords['sofie']!);
    await sofie.getByRole('button', { name: 'Log in' }).click();
    await sofie.getByRole('heading', { name: 'Live', level: 1 }).waitFor();
    await sofie.getByRole('table', { name: 'Counsellors on duty' }).getByRole('rowheader', { name: 'Maja' }).waitFor({ timeout: 10_000 });

    // A visitor joins; the offer arrives with its countdown and is accepted.
    const visitorCtx = await browser.newContext({ viewport: { width: 400, height: 800 } });
    const visitorPage = await visitorCtx.newPage();
    const widget = await openFromDemo(server, visitorPage);
    await widget.getByRole('radio', { name: /Vil gerne ud/ }).check();
    await widget.getByRole('button', { name: 'Start chat' }).click();
    const offer = maja.locator('li.offer');
    await offer.waitFor({ timeout: 15_000 });
    await expect(offer.textContent()).resolves.toMatch(/Getting out \(da\/exit\).*\d+ s left to accept/);
    await expect(maja.title()).resolves.toMatch(/^\(1\) New offer/);
    await maja.screenshot({ path: artifact('console-offer.png') });
    await axe(maja, 'offer');
    await offer.getByRole('button', { name: 'Accept' }).click();

    // Secure: both sides show the same code; messages both ways; read receipts.
    await widget.getByRole('heading', { name: 'Du taler med Maja' }).waitFor({ timeout: 15_000 });
    const code1 = await consoleCode(maja);
    await widget.getByText(`Sikkerhedskode: ${code1}`).waitFor();
    await visitorSays(widget, 'Hej, jeg vil gerne ud');
    await maja.locator('li.them', { hasText: 'Hej, jeg vil gerne ud' }).waitFor();
    await widget.locator('li.me', { hasText: 'Hej, jeg vil gerne ud' }).locator('.state', { hasText: 'Læst' }).waitFor({ timeout: 10_000 });
    await maja.getByLabel('Canned response').selectOption({ index: 1 });
    await expect(maja.getByLabel('Message', { exact: true }).inputValue()).resolves.toMatch(/^Hej, tak fordi du skriver/);
    await maja.getByRole('button', { name: 'Send' }).click();
    await widget.locator('li.them', { hasText: 'Hej, tak fordi du skriver' }).waitFor();
    await maja.locator('li.me', { hasText: 'Hej, tak fordi du skriver' }).locator('.state', { hasText: 'Read' }).waitFor({ timeout: 10_000 });
    await maja.screenshot({ path: artifact('console-chat.png') });
    await axe(maja, 'chat');

    // Reload the console mid-chat: back on duty with a new shift key, the chat renewed.
    await maja.reload();
    await maja.getByText(/^The console was reloaded/).waitFor({ timeout: 15_000 });
    await maja.locator('li.note', { hasText: 'Earlier messages are not kept on this device' }).waitFor({ timeout: 15_000 });
    const code2 = await consoleCode(maja);
    expect(code2).not.toBe(code1);
    await widget.locator('li.note', { hasText: `Ny sikkerhedskode: ${code2}` }).waitFor({ timeout: 15_000 });
    await expect(maja.locator('li.them', { hasText: 'Hej, jeg vil gerne ud' }).count()).resolves.toBe(0);
    await say(maja, 'Vi er her stadig.');
    await widget.locator('li.them', { hasText: 'Vi er her stadig.' }).waitFor();
    await visitorSays(widget, 'Godt');
    await maja.locator('li.them', { hasText: 'Godt' }).waitFor();
    await maja.screenshot({ path: artifact('console-after-reload.png') });

    // The console is gone for a moment (navigated away) while the visitor writes: nothing is lost.
    await maja.goto('about:blank');
    await visitorSays(widget, 'Er du der stadig?');
    await maja.goto(`${server.url}/console/`);
    await maja.locator('li.them', { hasText: 'Er du der stadig?' }).waitFor({ timeout: 20_000 });
    const code2b = await consoleCode(maja);
    await widget.locator('li.note', { hasText: `Ny sikkerhedskode: ${code2b}` }).waitFor({ timeout: 15_000 });

    // Ali comes on duty in a second console; Maja transfers the chat to him.
    const aliCtx = await browser.newContext(size);
    const ali = await startShift(aliCtx, 'ali');
    await maja.getByRole('button', { name: 'Transfer…' }).click();
    await maja.getByLabel('Transfer to').selectOption('alias:Ali');
    await maja.getByRole('button', { name: 'Transfer', exact: true }).click();
    await maja.getByText('The chat was handed over.').waitFor();
    await ali.locator('li.offer').getByRole('button', { name: 'Accept' }).click();
    const code3 = await consoleCode(ali);
    await widget.locator('li.note', { hasText: `Ny sikkerhedskode: ${code3}` }).waitFor({ timeout: 15_000 });
    await widget.getByRole('heading', { name: 'Du taler med Ali' }).waitFor();
    await visitorSays(widget, 'Hej Ali');
    await ali.locator('li.them', { hasText: 'Hej Ali' }).waitFor();
    await say(ali, 'Hej, jeg overtager.');
    await widget.locator('li.them', { hasText: 'Hej, jeg overtager.' }).waitFor();
    await maja.getByRole('button', { name: 'Close chat' }).click();
    await maja.getByText('No chats yet.').waitFor();

    // Ali ends with categories only: an outcome is required first.
    await ali.getByRole('button', { name: 'End chat…' }).click();
    await ali.getByRole('button', { name: 'End chat', exact: true }).click();
    await ali.getByText('Choose an outcome.').waitFor();
    await ali.getByRole('checkbox', { name: 'exit' }).check();
    await ali.getByRole('radio', { name: 'advice' }).check();
    await expect(ali.getByRole('radio', { name: 'chat' }).isChecked()).resolves.toBe(true);
    await ali.screenshot({ path: artifact('console-end-tags.png') });
    await axe(ali, 'end form');
    await ali.getByRole('button', { name: 'End chat', exact: true }).click();
    await ali.getByText('No chats yet.').waitFor();
    await expect(ali.evaluate(() => document.activeElement?.id)).resolves.toBe('chats-h');
    await widget.getByRole('heading', { name: 'Chatten er slut' }).waitFor();

    // The dashboard counts the contact by its tags: one chat, topic exit, outcome advice.
    await sofie.getByRole('img', { name: 'Contacts by channel: chat 1' }).waitFor({ timeout: 10_000 });
    await sofie.getByRole('img', { name: /^Contacts by topic: .*exit 1/i }).waitFor();
    await sofie.getByRole('img', { name: /^Contacts by outcome: .*advice 1/i }).waitFor();
    await sofie.screenshot({ path: artifact('console-shift-dashboard.png'), fullPage: true });
    await sofieCtx.close();

    // Ali ends his shift.
    await ali.getByRole('button', { name: 'End shift' }).click();
    await ali.getByRole('button', { name: 'Go on duty' }).waitFor();
    await Promise.all([majaCtx.close(), aliCtx.close(), visitorCtx.close()]);
  });

  it('opens callback requests with the desk key', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const page = await startShift(ctx, 'maja');
    // A break and back, by keyboard only.
    await page.getByRole('button', { name: 'Take a break' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('On a break — no new offers.').waitFor();
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('duty-h');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByText(/^On duty — 0 of 2 chats\.$/).waitFor();
    const visitorCtx = await browser.newContext({ viewport: { width: 400, height: 800 } });
    const widget = await openFromDemo(server, await visitorCtx.newPage());
    await widget.getByLabel('Telefonnummer').fill('+45 12 34 56 78');
    await widget.getByLabel('Hvornår må vi ringe?').fill('i aften');
    await widget.getByRole('button', { name: 'Bed om et opkald' }).click();
    await widget.getByText('Tak. Vi ringer til dig.').waitFor();

    const item = page.locator('li.callback');
    await item.waitFor({ timeout: 10_000 });
    await expect(item.textContent()).resolves.not.toContain('12 34 56 78');
    await page.getByLabel('Desk key file').setInputFiles(join(server.dir, 'phone-desk.key'));
    await page.getByText('Desk key loaded').waitFor();
    await item.getByRole('button', { name: 'Open' }).click();
    await item.getByText('+45 12 34 56 78').waitFor();
    await item.getByText('i aften').waitFor();
    await page.screenshot({ path: artifact('console-desk.png') });
    await axe(page, 'desk');
    await item.getByRole('button', { name: 'Done…' }).click();
    await item.getByRole('radio', { name: 'callback' }).check();
    await item.getByRole('button', { name: 'Mark done' }).click();
    await page.getByText('No callback requests.').waitFor({ timeout: 10_000 });
    await Promise.all([ctx.close(), visitorCtx.close()]);
  });
});
