/**
 * Referrals and phone-call logging from the shift console (#8), against the real relay
 * (demo mode, no demo bot) and the real widget: Maja fills the referral form in a live
 * chat, the visitor sees exactly those fields and says yes, the code reaches the visitor
 * with the office's address, and `lyt referral pull` (the demo office's key and token)
 * opens a referral holding the form's fields. A no stores nothing. A phone call logged on
 * the phone desk is counted in the supervisor's figures.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import AxeBuilder from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { artifact, launch, LYT_BIN, type Server, startServer, widgetUrl } from './harness.js';

const run = promisify(execFile);
const OFFICE = 'Brobygger København (DEMO)';

let server: Server;
let browser: Browser;
let passwords: Record<string, string>;
let orgRoot = '';
let maja: Page;
let majaCtx: BrowserContext;

/** Opens the console as Maja, enrols the identity key (the demo certifies at once) and goes on duty. */
async function startShift(): Promise<void> {
  majaCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  maja = await majaCtx.newPage();
  await maja.goto(`${server.url}/console/`);
  await maja.getByLabel('Username').fill('maja');
  await maja.getByLabel('Password').fill(passwords['maja']!);
  await maja.getByRole('button', { name: 'Log in' }).click();
  await maja.getByRole('button', { name: 'Create my identity key' }).click();
  await maja.getByRole('button', { name: 'Continue' }).click();
  await maja.getByRole('button', { name: 'Go on duty' }).click();
  await maja.getByText(/^On duty — 0 of 2 chats\.$/).waitFor();
}

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  const accounts = JSON.parse(readFileSync(join(server.dir, 'accounts.json'), 'utf8')) as { username: string; password: string }[];
  passwords = Object.fromEntries(accounts.map((a) => [a.username, a.password]));
  const served = await (await fetch(`${server.url}/console/console.js`)).text();
  if (served !== readFileSync(new URL('../dist/console.js', import.meta.url), 'utf8')) {
    throw new Error(`${LYT_BIN} serves another console.js than dist/: run \`cargo build\` after \`npm run build\``);
  }
  await startShift();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(result.violations.map((v) => `${screen}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** A visitor joins in the widget (Danish), Maja accepts; returns the visitor's page once the chat is secure. */
async function liveChat(): Promise<{ visitor: Page; context: BrowserContext }> {
  const context = await browser.newContext({ viewport: { width: 420, height: 860 } });
  const visitor = await context.newPage();
  const url = await widgetUrl(server, visitor, 'da');
  orgRoot = decodeURIComponent(/#root=([^&]+)/.exec(url)![1]!);
  await visitor.goto(url);
  await visitor.getByRole('radio', { name: /Vil gerne ud/ }).check();
  await visitor.getByRole('button', { name: 'Start chat' }).click();
  const offer = maja.locator('li.offer');
  await offer.waitFor({ timeout: 15_000 });
  await offer.getByRole('button', { name: 'Accept' }).click();
  await visitor.getByRole('heading', { name: 'Du taler med Maja' }).waitFor({ timeout: 15_000 });
  await expect.poll(async () => (await pane().locator('.safety .code').textContent()) ?? '', { timeout: 15_000 }).toMatch(/^\d{6}$/);
  return { visitor, context };
}

/** The chat in view in Maja's console. */
function pane(): Locator {
  return maja.locator('section.chat:visible');
}

/** Opens the referral form in the chat in view and picks the demo office by searching its municipality. */
async function openForm(): Promise<Locator> {
  await pane().getByRole('button', { name: 'Refer to a brobygger…' }).click();
  const form = pane().locator('form.referral-form');
  await form.getByRole('heading', { name: 'Refer to a brobygger' }).waitFor();
  await form.getByLabel('Find an office by municipality').fill('kobenhavn');
  await form.getByText('1 of 1 offices').waitFor();
  await form.getByRole('radio', { name: new RegExp(OFFICE.replace(/[()]/g, '\\$&')) }).check();
  return form;
}

/** `lyt referral pull` as the demo office: the files written and what it printed. */
async function pull(): Promise<{ files: Record<string, unknown>; stdout: string }> {
  const out = mkdtempSync(join(tmpdir(), 'lyt-pull-'));
  try {
    const token = readFileSync(join(server.dir, 'brobygger-kbh.token'), 'utf8').trim();
    const { stdout } = await run(LYT_BIN, ['referral', 'pull', '--office=bro-kbh', `--key=${join(server.dir, 'brobygger-kbh.key')}`,
      `--token=${token}`, `--org-root=${orgRoot}`, `--server=${server.url}`, `--out=${out}`], { env: { ...process.env, RUST_LOG: 'warn' } });
    const files: Record<string, unknown> = {};
    for (const name of readdirSync(out)) files[name] = JSON.parse(readFileSync(join(out, name), 'utf8')) as unknown;
    return { files, stdout };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe('the console', () => {
  /** The whole referral: form → offer with exactly those fields → yes → sealed, stored → code to the visitor → the office opens it. */
  it('makes a full referral', async () => {
    const { visitor, context } = await liveChat();
    const form = await openForm();
    await form.getByRole('checkbox', { name: 'Health' }).check();
    await form.getByRole('checkbox', { name: 'Housing' }).check();
    await form.getByLabel('How to contact').fill('Text message in English, weekday mornings');
    await expect(form.getByRole('radio', { name: 'Contact the person like this:' }).isChecked()).resolves.toBe(true);
    await form.getByLabel('Language', { exact: true }).fill('Thai');
    await form.getByRole('checkbox', { name: 'Needs an interpreter' }).check();
    await form.getByLabel(/^Safety constraints/).fill('No voicemail');
    await form.getByLabel('Short note for the office').fill('Would like to come in with a friend.');
    const fields = [
      'Needs: health, housing',
      'Contact: Text message in English, weekday mornings',
      'Language: Thai',
      'Interpreter: yes',
      'Safety: No voicemail',
      'Note: Would like to come in with a friend.',
      'Counsellor: Maja',
    ];
    await expect(form.locator('.offer-preview li').allTextContents()).resolves.toEqual(fields);
    await axe(maja, 'referral form');
    await maja.screenshot({ path: artifact('console-referral-form.png'), fullPage: true });
    await form.getByRole('button', { name: 'Show the offer to the visitor' }).click();
    // The form closes once the offer went; the chat says what it waits for.
    await form.waitFor({ state: 'detached' });
    await pane().locator('.referral-status', { hasText: 'waiting for the visitor’s answer' }).waitFor();

    // The visitor sees exactly the form's fields and says yes.
    const card = visitor.locator('li.offer');
    await card.getByRole('heading', { name: `Maja foreslår en henvisning til ${OFFICE}` }).waitFor({ timeout: 15_000 });
    await expect(card.locator('.fields li').allTextContents()).resolves.toEqual(fields);
    await card.getByRole('button', { name: 'Ja, send den' }).click();

    // Sealed, stored, and the code goes to the visitor with the office's address.
    const codeCard = visitor.locator('li.code-card');
    await codeCard.getByRole('heading', { name: `Din kode til ${OFFICE}` }).waitFor({ timeout: 15_000 });
    const code = (await codeCard.locator('.refcode').textContent()) ?? '';
    expect(code).toMatch(/^BRO-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    await codeCard.getByText('Adresse: Demogade 1, 1000 København K (DEMO)').waitFor();
    await pane().locator('.referral-status', { hasText: `stored. Code ${code} given to the visitor.` }).waitFor();
    await pane().locator('li.note', { hasText: 'The visitor said yes. Signing and sealing' }).waitFor();
    await maja.screenshot({ path: artifact('console-referral-stored.png'), fullPage: true });

    // The office opens it: the form's fields, signed by Maja, under that code.
    const { files } = await pull();
    expect(Object.keys(files)).toEqual([`${code}.json`]);
    const saved = files[`${code}.json`] as { code: string; referral: Record<string, unknown> };
    expect(saved.referral).toMatchObject({
      office_id: 'bro-kbh', counsellor_alias: 'Maja', contact: 'Text message in English, weekday mornings', language: 'Thai',
      interpreter: true, needs: ['health', 'housing'], note: 'Would like to come in with a friend.', safety: 'No voicemail',
    });
    expect((saved.referral['consent'] as { text_version: number }).text_version).toBe(1);
    await context.close();
  });

  /** No consent: the console says nothing was sealed, and the office finds nothing. */
  it('stores nothing when the visitor says no', async () => {
    const { visitor, context } = await liveChat();
    const form = await openForm();
    await form.getByRole('checkbox', { name: 'Legal advice' }).check();
    await form.getByRole('button', { name: 'Show the offer to the visitor' }).click();
    await form.waitFor({ state: 'detached' });
    const card = visitor.locator('li.offer');
    await card.getByRole('heading', { name: `Maja foreslår en henvisning til ${OFFICE}` }).waitFor({ timeout: 15_000 });
    await expect(card.locator('.fields li').allTextContents()).resolves.toEqual([
      'Needs: legal', 'Contact: will quote the code (no phone number, no e-mail)', 'Language: da', 'Interpreter: no', 'Counsellor: Maja',
    ]);
    await card.getByRole('button', { name: 'Nej, send den ikke' }).click();
    await pane().locator('.referral-status', { hasText: 'the visitor said no. Nothing was sent.' }).waitFor({ timeout: 15_000 });
    await pane().locator('li.note', { hasText: 'Nothing was sealed or sent.' }).waitFor();
    const { files, stdout } = await pull();
    expect(files).toEqual({});
    expect(stdout).toContain('no referrals waiting');
    await context.close();
  });

  /** A call logged on the phone desk is confirmed in the console and counted in the supervisor's snapshot. */
  it('counts a logged phone call', async () => {
    await maja.getByRole('button', { name: 'Log a phone call' }).click();
    const form = maja.locator('form.call-form');
    await form.getByRole('heading', { name: 'Log a phone call' }).waitFor();
    await expect(form.getByLabel('Started', { exact: true }).inputValue()).resolves.toMatch(/^\d\d:\d\d$/);
    await form.getByLabel('Language of the call').selectOption('en');
    await form.getByRole('checkbox', { name: 'exit', exact: true }).check();
    await form.getByRole('button', { name: 'Log call' }).click();
    await form.getByText('Choose an outcome.').waitFor();
    await form.getByRole('radio', { name: 'advice', exact: true }).check();
    await axe(maja, 'call log form');
    await form.getByRole('button', { name: 'Log call' }).click();
    await maja.locator('li.call.counted', { hasText: 'Counted' }).waitFor({ timeout: 10_000 });
    await expect(maja.locator('li.call').textContent()).resolves.toMatch(/^\d\d:\d\d–\d\d:\d\d · en · exit, advice · Counted$/);
    await maja.screenshot({ path: artifact('console-call-logged.png'), fullPage: true });

    const login = await fetch(`${server.url}/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'sofie', password: passwords['sofie'] }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const snap = (await (await fetch(`${server.url}/v1/supervisor/snapshot`, { headers: { cookie } })).json()) as
      { today: { by_channel: Record<string, number>; by_language: Record<string, number>; by_outcome: Record<string, number> } };
    expect(snap.today.by_channel['phone']).toBe(1);
    expect(snap.today.by_language['en']).toBe(1);
    expect(snap.today.by_outcome['advice']).toBeGreaterThanOrEqual(1);
  });
});
