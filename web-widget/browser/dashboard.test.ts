/**
 * The supervisor dashboard against a real lyt (demo mode) in the machine's Chromium: sofie
 * (supervisor) sees the live figures and a visitor's join arrive in them; maja (counsellor) is
 * told the page is for supervisors; sofie creates an account, and once disabled it cannot log
 * in. axe finds no WCAG 2.1 A/AA violations on any screen; each is saved under artifacts/.
 */

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifact, launch, type Server, startServer, widgetUrl } from './harness.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

let server: Server;
let browser: Browser;
let passwords: Map<string, string>;

beforeAll(async () => {
  server = await startServer();
  for (const file of ['dashboard.js', 'dashboard.css']) {
    const served = await (await fetch(`${server.url}/dashboard/${file}`)).text();
    if (served !== readFileSync(resolve(HERE, `../dist/${file}`), 'utf8')) {
      throw new Error(`the lyt binary serves another ${file} than dist/: run \`cargo build\` after \`npm run build\``);
    }
  }
  const accounts = JSON.parse(readFileSync(join(server.dir, 'accounts.json'), 'utf8')) as { username: string; password: string }[];
  passwords = new Map(accounts.map((a) => [a.username, a.password]));
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

function password(user: string): string {
  const p = passwords.get(user);
  if (p === undefined) throw new Error(`no demo password for ${user}`);
  return p;
}

async function axe(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(result.violations.map((v) => `${screen}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([]);
}

async function newPage(width = 1280, height = 900): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  // Refused requests (401 before login, 403 for a counsellor) are expected; any other page error is shown.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) console.error(`page: ${m.text()}`); });
  return page;
}

/** Opens /dashboard/ and logs in with the login form. */
async function login(page: Page, user: string, pass: string): Promise<void> {
  await page.goto(`${server.url}/dashboard/`);
  await page.getByRole('heading', { name: 'Supervisor dashboard' }).waitFor();
  await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('login-username');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(pass);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The value of a headline tile ("Waiting now"). */
function tile(page: Page, label: string): Promise<string | null> {
  return page.locator('.tiles .tile', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd').first().textContent();
}

describe('supervisor dashboard', () => {
  /** sofie sees the live figures; a visitor joining a queue shows up as waiting within seconds, without a reload. */
  it('shows live figures that follow the queue', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/dashboard/`);
    await page.getByRole('heading', { name: 'Supervisor dashboard' }).waitFor();
    await axe(page, 'login');
    await page.screenshot({ path: artifact('dashboard-login.png') });

    await login(page, 'sofie', password('sofie'));
    await page.getByRole('heading', { name: 'Live', level: 1 }).waitFor();
    await page.locator('.feed.live', { hasText: 'Live' }).waitFor();
    expect(await tile(page, 'Waiting now')).toBe('0');
    expect(await tile(page, 'Service')).toBe('Open');
    await expect(page.getByRole('table', { name: 'Queues right now' }).locator('tbody tr').count()).resolves.toBeGreaterThan(0);
    await page.getByRole('img', { name: /^Waiting per queue:/ }).waitFor();
    await page.getByRole('img', { name: /^Counsellors by state: Available 0, Busy 0, On break 0, Offline 3/ }).waitFor();

    // A visitor joins; nobody is on duty, so they wait.
    const visitor = await newPage(360, 740);
    await visitor.goto(await widgetUrl(server, visitor, 'da'));
    await visitor.getByRole('radio', { name: /Vil gerne ud/ }).check();
    await visitor.getByRole('button', { name: 'Start chat' }).click();
    await visitor.getByRole('heading', { name: 'Du er i kø' }).waitFor();

    await expect.poll(() => tile(page, 'Waiting now'), { timeout: 10_000 }).toBe('1');
    const row = page.getByRole('table', { name: 'Queues right now' }).locator('tbody tr').filter({ has: page.locator('td', { hasText: /^1$/ }) });
    await expect(row.count()).resolves.toBe(1);
    await expect(row.locator('th').textContent()).resolves.toMatch(/\(da\)$/);
    await page.getByRole('img', { name: /^Waiting per queue:.* 1(,|$)/ }).waitFor();
    await page.getByRole('img', { name: /People waiting over the last .*now 1, highest 1/ }).waitFor();
    await axe(page, 'live');
    await page.screenshot({ path: artifact('dashboard-live.png'), fullPage: true });
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.screenshot({ path: artifact('dashboard-live-1024.png'), fullPage: true });

    // The visitor leaves: the figure follows.
    await visitor.context().close();
    await expect.poll(() => tile(page, 'Waiting now'), { timeout: 15_000 }).toBe('0');
    await page.context().close();
  });

  /** With the demo bot on duty, a chat is accepted (active, load) and, once ended, counted in today's contacts and waits. */
  it('counts a finished chat in today', async () => {
    const page = await newPage();
    await login(page, 'sofie', password('sofie'));
    await page.locator('.feed.live').waitFor();
    await server.startBot().wait(/on duty/);
    await page.getByRole('img', { name: /^Counsellors by state: Available 1,/ }).waitFor({ timeout: 10_000 });
    await page.getByRole('table', { name: 'Counsellors on duty' }).getByRole('rowheader', { name: 'Ali' }).waitFor();

    const visitor = await newPage(360, 740);
    await visitor.goto(await widgetUrl(server, visitor, 'da'));
    await visitor.getByRole('radio', { name: /Vil gerne ud/ }).check();
    await visitor.getByRole('button', { name: 'Start chat' }).click();
    await visitor.getByRole('heading', { name: 'Du taler med Ali' }).waitFor({ timeout: 20_000 });
    await expect.poll(() => tile(page, 'Active chats'), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => tile(page, 'Load'), { timeout: 10_000 }).toMatch(/^1 \/ [1-9]/);

    await visitor.getByRole('button', { name: 'Afslut chat' }).click();
    await visitor.getByRole('heading', { name: 'Chatten er slut' }).waitFor();
    await expect.poll(() => tile(page, 'Contacts'), { timeout: 10_000 }).toBe('1');
    expect(await tile(page, 'Active chats')).toBe('0');
    await page.getByRole('img', { name: 'Contacts by channel: chat 1' }).waitFor();
    await page.getByRole('img', { name: 'Contacts by language: Danish 1' }).waitFor();
    await page.getByRole('img', { name: /^Contacts by outcome: .+ 1$/ }).waitFor();
    await page.getByText('From 1 answered contact.').waitFor();
    await axe(page, 'today');
    await page.screenshot({ path: artifact('dashboard-today.png'), fullPage: true });
    await visitor.context().close();
    await page.context().close();
  });

  /** maja is a counsellor: the server answers 403 and the page says the dashboard is for supervisors. */
  it('turns a counsellor away', async () => {
    const page = await newPage();
    await login(page, 'maja', password('maja'));
    await page.getByRole('heading', { name: 'This page is for supervisors' }).waitFor();
    await page.getByText('You are logged in as Maja, a counsellor.').waitFor();
    const live = await page.evaluate(async () => (await fetch('/v1/supervisor/snapshot', { credentials: 'same-origin' })).status);
    expect(live).toBe(403);
    await axe(page, 'forbidden');
    await page.screenshot({ path: artifact('dashboard-forbidden.png') });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are logged out.').waitFor();
    await page.context().close();
  });

  /** A wrong password is said in plain words and focus returns to the password. */
  it('says when the password is wrong', async () => {
    const page = await newPage();
    await login(page, 'sofie', 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('login-password');
    await page.context().close();
  });

  /** sofie adds kim (password shown once); kim can log in; once disabled, kim cannot. */
  it('creates and disables an account', async () => {
    const page = await newPage();
    await login(page, 'sofie', password('sofie'));
    await page.getByRole('heading', { name: 'Live', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Accounts' }).click();
    await page.getByRole('heading', { name: 'Accounts', level: 1 }).waitFor();
    await page.getByRole('table', { name: 'Staff accounts' }).getByRole('rowheader', { name: 'maja' }).waitFor();
    await axe(page, 'accounts');

    await page.getByLabel('Username').fill('kim');
    await page.getByLabel('Name shown to visitors').fill('Kim');
    await page.getByRole('button', { name: 'Add account' }).click();
    await page.getByText('Account kim created.').waitFor();
    const kimPassword = (await page.locator('#new-password').textContent()) ?? '';
    expect(kimPassword.length).toBeGreaterThanOrEqual(8);
    await expect(page.evaluate(() => document.activeElement?.classList.contains('notice'))).resolves.toBe(true);
    const kimRow = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'kim' }) });
    await expect(kimRow.getByRole('cell').nth(2).textContent()).resolves.toBe('Active');
    await axe(page, 'account created');
    await page.screenshot({ path: artifact('dashboard-account-created.png'), fullPage: true });
    await page.getByRole('button', { name: 'Done, I have passed it on' }).click();
    await expect(page.locator('#new-password').count()).resolves.toBe(0);

    // kim's password works (kim is a counsellor, so the dashboard turns kim away).
    const kim = await newPage();
    await login(kim, 'kim', kimPassword);
    await kim.getByRole('heading', { name: 'This page is for supervisors' }).waitFor();
    // kim's browser enrols an identity key, as the shift console does.
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x;
    const enrolled = await kim.evaluate(async (key) => (await fetch('/v1/console/identity', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ public_key: key }),
    })).status, publicKey);
    expect(enrolled).toBe(200);

    await page.getByRole('button', { name: 'Disable kim', exact: true }).click();
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Yes, disable kim');
    await page.getByRole('group', { name: /^Disable kim\? Their sessions end/ }).waitFor();
    await page.getByRole('button', { name: 'Yes, disable kim' }).click();
    await page.getByRole('status').filter({ hasText: 'kim is disabled' }).waitFor();
    await expect(kimRow.getByRole('cell').nth(2).textContent()).resolves.toBe('Disabled');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Enable');

    // kim's session has ended and the password no longer opens anything.
    const kimMe = await kim.evaluate(async () => (await fetch('/v1/auth/me', { credentials: 'same-origin' })).status);
    expect(kimMe).toBe(401);
    await login(kim, 'kim', kimPassword);
    await kim.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await kim.screenshot({ path: artifact('dashboard-disabled-login.png') });

    // A supervisor cannot disable themselves: the server's reason is shown.
    await page.getByRole('button', { name: 'Disable sofie', exact: true }).click();
    await page.getByRole('button', { name: 'Yes, disable sofie' }).click();
    await page.getByRole('status').filter({ hasText: /Could not disable sofie/ }).waitFor();

    // A certificate that is not one is refused with the server's message, in the form.
    await page.getByRole('button', { name: 'Register certificate for kim' }).click();
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('cert-text');
    await page.getByLabel('Certificate (base64)').fill('AAAA');
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: /^The server refused it: .+/ }).waitFor();
    await axe(page, 'certificate refused');
    await page.screenshot({ path: artifact('dashboard-cert-refused.png'), fullPage: true });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).resolves.toBe('Register certificate for kim');
    await kim.context().close();
    await page.context().close();
  });

  /** When the session ends elsewhere (logged out in another tab), the live stream stops and the page asks to log in again. */
  it('returns to the login when the session ends', async () => {
    const page = await newPage();
    await login(page, 'sofie', password('sofie'));
    await page.locator('.feed.live').waitFor();
    const other = await page.context().newPage();
    await other.goto(`${server.url}/dashboard/`);
    await other.getByRole('button', { name: 'Log out' }).click();
    await other.getByText('You are logged out.').waitFor();
    await page.getByText('Your session has ended. Log in again.').waitFor({ timeout: 15_000 });
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('login-username');
    await page.context().close();
  });

  /** sofie starts two-step login: the secret and otpauth URI are shown as text; a wrong code is refused. */
  it('sets up two-step login', async () => {
    const page = await newPage();
    await login(page, 'sofie', password('sofie'));
    await page.getByRole('button', { name: 'Two-step login' }).click();
    await page.getByRole('button', { name: 'Set up two-step login' }).click();
    await expect(page.locator('#totp-uri').textContent()).resolves.toMatch(/^otpauth:\/\/totp\/.*secret=/);
    await expect(page.locator('#totp-secret').textContent()).resolves.toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('totp-code');
    await page.getByLabel('Code the app shows now').fill('000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('alert').filter({ hasText: /code was not right/ }).waitFor();
    await axe(page, 'totp');
    await page.screenshot({ path: artifact('dashboard-totp.png'), fullPage: true });
    await page.context().close();
  });
});
