/**
 * A brobygger referral end to end (#8), against the real relay and the demo counsellor bot:
 * the visitor asks for a referral, sees the consent card with exactly the offered fields,
 * answers with the keyboard, and sees the code with the office's address; the office then
 * pulls the sealed referral with `lyt referral pull` and finds it under that code. Saying no
 * seals nothing. The consent card is checked by axe and photographed.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import AxeBuilder from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifact, launch, LYT_BIN, type Server, startServer, widgetUrl } from './harness.js';

const run = promisify(execFile);

/** Exactly what the demo bot offers (and seals) for a Danish chat. */
const FIELDS = [
  'Needs: health, social',
  'Contact: will quote the code (no phone number, no e-mail)',
  'Language: da',
  'Interpreter: no',
  'Counsellor: Ali',
];
const OFFICE = 'Brobygger København (DEMO)';

let server: Server;
let browser: Browser;
let orgRoot: string;

beforeAll(async () => {
  server = await startServer({ bot: true });
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens the widget on its own in Danish, chats with the bot and asks for a referral; returns the offer card. */
async function askForReferral(page: Page): Promise<ReturnType<Page['locator']>> {
  const url = await widgetUrl(server, page, 'da');
  orgRoot = decodeURIComponent(/#root=([^&]+)/.exec(url)![1]!);
  await page.goto(url);
  await page.getByRole('radio', { name: /Vil gerne ud/ }).check();
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.getByRole('heading', { name: 'Du taler med Ali' }).waitFor({ timeout: 20_000 });
  await page.locator('li.them', { hasText: 'henvis' }).waitFor({ timeout: 15_000 });
  await page.getByLabel('Din besked').fill('Hej, jeg har brug for hjælp');
  await page.keyboard.press('Enter');
  await page.locator('li.them', { hasText: 'message no. 1' }).waitFor({ timeout: 15_000 });
  await page.getByLabel('Din besked').fill('Kan du henvis mig til et sted?');
  await page.keyboard.press('Enter');
  const card = page.locator('li.offer');
  await card.getByRole('heading', { name: `Ali foreslår en henvisning til ${OFFICE}` }).waitFor({ timeout: 15_000 });
  return card;
}

/** The visitor's answer, with the keyboard only: Tab to the button, Enter. */
async function answerWithKeyboard(page: Page, name: string): Promise<void> {
  const target = page.getByRole('button', { name });
  await page.getByLabel('Din besked').focus();
  for (let i = 0; i < 20 && !(await target.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Shift+Tab');
  await expect(target.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
  await page.keyboard.press('Enter');
}

/** `lyt referral pull` as the demo office: the files written and what it printed. */
async function pull(): Promise<{ files: Record<string, unknown>; stdout: string }> {
  const out = mkdtempSync(join(tmpdir(), 'lyt-pull-'));
  try {
    const token = readFileSync(join(server.dir, 'brobygger-kbh.token'), 'utf8').trim();
    // `--name=value`: a base64url token or root may begin with "-".
    const { stdout } = await run(LYT_BIN, ['referral', 'pull', '--office=bro-kbh', `--key=${join(server.dir, 'brobygger-kbh.key')}`,
      `--token=${token}`, `--org-root=${orgRoot}`, `--server=${server.url}`, `--out=${out}`], { env: { ...process.env, RUST_LOG: 'warn' } });
    const files: Record<string, unknown> = {};
    for (const name of readdirSync(out)) files[name] = JSON.parse(readFileSync(join(out, name), 'utf8')) as unknown;
    return { files, stdout };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(result.violations.map((v) => `${screen}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([]);
}

describe('referral', () => {
  /** No: the card says so, nothing is sealed, the office finds nothing. */
  it('seals nothing when the visitor says no', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    const card = await askForReferral(page);
    await expect(card.locator('.fields li').allTextContents()).resolves.toEqual(FIELDS);
    await axe(page, 'consent');
    await page.screenshot({ path: artifact('referral-consent-phone.png'), fullPage: true });

    await answerWithKeyboard(page, 'Nej, send den ikke');
    await card.getByText('Du sagde nej. Intet blev sendt.').waitFor();
    await expect(page.evaluate(() => document.activeElement?.className)).resolves.toBe('answered');
    await expect(card.getByRole('button').count()).resolves.toBe(0);
    await page.locator('li.them', { hasText: 'Nothing has been sent' }).waitFor({ timeout: 15_000 });
    await server.startBot().wait(/referral declined, nothing sealed/);
    await page.screenshot({ path: artifact('referral-declined-phone.png'), fullPage: true });

    const { files, stdout } = await pull();
    expect(files).toEqual({});
    expect(stdout).toContain('no referrals waiting');
    await context.close();
  });

  /** Yes: the code appears with the office's address and hours; the office pulls one referral, named by that code, with the needs. */
  it('refers the visitor who says yes', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const card = await askForReferral(page);
    await expect(card.locator('.fields li').allTextContents()).resolves.toEqual(FIELDS);
    await expect(card.getByText('Intet bliver sendt, medmindre du siger ja.', { exact: false }).isVisible()).resolves.toBe(true);
    await expect(card.getByText(`kontakt ${OFFICE} og oplys din kode`, { exact: false }).isVisible()).resolves.toBe(true);
    await axe(page, 'consent');
    await page.screenshot({ path: artifact('referral-consent-desktop.png'), fullPage: true });

    await answerWithKeyboard(page, 'Ja, send den');
    await card.getByText('Du sagde ja.', { exact: false }).waitFor();
    await expect(page.evaluate(() => document.activeElement?.className)).resolves.toBe('answered');

    const codeCard = page.locator('li.code-card');
    await codeCard.getByRole('heading', { name: `Din kode til ${OFFICE}` }).waitFor({ timeout: 15_000 });
    const code = (await codeCard.locator('.refcode').textContent()) ?? '';
    expect(code).toMatch(/^BRO-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    await codeCard.getByText('Adresse: Demogade 1, 1000 København K (DEMO)').waitFor();
    await codeCard.getByText('Receptionen har åbent: Mon-Thu 10-15 (DEMO)').waitFor();
    await codeCard.getByText('Vis eller sig koden i receptionen.', { exact: false }).waitFor();
    await axe(page, 'code');
    await page.screenshot({ path: artifact('referral-code-desktop.png'), fullPage: true });
    // Nothing of it in the browser's storage.
    await expect(page.evaluate(() => localStorage.length + sessionStorage.length)).resolves.toBe(0);

    const { files } = await pull();
    expect(Object.keys(files)).toEqual([`${code}.json`]);
    const saved = files[`${code}.json`] as { code: string; referral: Record<string, unknown> };
    expect(saved.code).toBe(code);
    expect(saved.referral).toMatchObject({
      office_id: 'bro-kbh', counsellor_alias: 'Ali', contact: 'will quote the code', language: 'da', interpreter: false,
      needs: ['health', 'social'], note: '', safety: '',
    });
    // Acknowledged: a second pull finds nothing.
    expect((await pull()).files).toEqual({});

    // The code stays visible in the chat.
    await page.getByLabel('Din besked').fill('Tak');
    await page.keyboard.press('Enter');
    await page.locator('li.them', { hasText: 'message no. 3' }).waitFor({ timeout: 15_000 });
    await expect(codeCard.locator('.refcode').textContent()).resolves.toBe(code);
    await context.close();
  });
});
