// End-to-end: Swagger UI in a real Chromium, as a person uses it.
//
// Starts the server (built by `cargo build -p crm-server`) on a free port over a fresh SQLite
// database with the demo data, opens /swagger-ui/, clicks Authorize and pastes an API key, then
// runs "Try it out" on DELETE /api/2.0/crm/contact/{contactid} for a demo contact: the page must
// show 200 and the contact's DisplayName; the same delete again must show 404. The delete put the
// contact in the trash: "Try it out" on POST /api/2.0/crm/contact/{contactid}/restore with its ID
// must show 200 and the restored contact's DisplayName, and the contact is back. Screenshots of
// the three results go to test-results/ beside this file (or $SWAGGER_UI_OUTPUT_DIR).
//
// Run: node --test clients/swagger-ui/   (see README.md; ../run-all.sh runs it too)
//
// The page is opened under a host name that is not a loopback one (`crm.example`, which Chromium
// maps to 127.0.0.1), as a user on the network opens it: Swagger UI treats localhost specially
// (its online validator, for one, stays off there). Nothing may leave the machine: any request
// to another host fails the test. The page runs under the server's Content-Security-Policy, and
// any violation of it, or any error on the console, fails the test too.

import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const serverBin = process.env.CRM_SERVER_BIN ?? path.join(repo, 'target', 'debug', 'crm-server');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const outputDir = process.env.SWAGGER_UI_OUTPUT_DIR ?? path.join(here, 'test-results');
const STEP_TIMEOUT = 20_000;
/** The host name the page is opened under; Chromium resolves it to 127.0.0.1. */
const PAGE_HOST = 'crm.example';

let server;
let serverLog = '';
let scratch;
let baseUrl;
let pageUrl;
const apiKey = randomUUID().toUpperCase();

/** Starts the server on 127.0.0.1:0 and resolves with its URL once it logs where it listens. */
function startServer(demoData) {
  scratch = mkdtempSync(path.join(tmpdir(), 'crm-swagger-ui-'));
  // CRM_DATABASE_URL: a fresh PostgreSQL database (clients/run-all.sh makes one); else SQLite.
  const databaseUrl = process.env.CRM_DATABASE_URL || `sqlite:${path.join(scratch, 'crm.db')}`;
  const args = ['--bind', '127.0.0.1:0', '--database-url', databaseUrl];
  if (demoData) args.push('--demo-data');
  server = spawn(serverBin, args, {
    env: { ...process.env, CRM_BOOTSTRAP_API_KEY: apiKey, CRM_RATE_LIMIT: '0', CRM_BAD_KEY_LIMIT: '0', RUST_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${serverLog}`)), 30_000);
    const onData = (chunk) => {
      serverLog += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serverLog);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${serverLog}`));
    });
  });
}

async function api(method, route, body) {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { Authorization: apiKey, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * Scrolls the response body box (it scrolls past 400px) so that the line holding `needle` is in
 * view, as a person scrolls to find it, and returns that line.
 */
async function scrollBodyTo(body, needle) {
  return body.evaluate((pre, text) => {
    const lines = pre.innerText.split('\n');
    const index = lines.findIndex((line) => line.includes(text));
    if (index < 0) return null;
    pre.scrollTop = Math.max(0, (index - 4) * (pre.scrollHeight / lines.length));
    return lines[index];
  }, needle);
}

/** The first contact (by ID) the key may delete: a demo contact, or one made through the API. */
async function deletableContact() {
  for (let id = 1; id <= 50; id += 1) {
    const { status, body } = await api('GET', `/api/2.0/crm/contact/${id}`);
    if (status === 200 && body.CanDelete) return body;
  }
  throw new Error('no deletable contact among IDs 1 to 50');
}

before(async () => {
  assert.ok(existsSync(serverBin), `build the server first (cargo build -p crm-server): ${serverBin}`);
  assert.ok(existsSync(chromiumPath), `install Chromium first (apt-get install -y chromium): ${chromiumPath}`);
  const help = execFileSync(serverBin, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  const demoData = help.includes('--demo-data');
  baseUrl = await startServer(demoData);
  pageUrl = baseUrl.replace('127.0.0.1', PAGE_HOST);
  if (!demoData) {
    // A server without --demo-data: make the contact the test deletes through the API.
    const created = await api('POST', '/api/2.0/crm/contact/person', { FirstName: 'Jane', LastName: 'Doe' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
});

after(() => {
  server?.kill('SIGTERM');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('Swagger UI: Authorize, Try it out on DELETE /contact/{contactid} shows 200, then 404; the restore shows 200', { timeout: 180_000 }, async () => {
  const contact = await deletableContact();
  mkdirSync(outputDir, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'crm-chromium-profile-'));
  // launchPersistentContext runs Chromium with this fresh --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      // crm.example is this machine, and nothing goes through a proxy.
      `--host-resolver-rules=MAP ${PAGE_HOST} 127.0.0.1`,
      '--no-proxy-server',
    ],
    viewport: { width: 1280, height: 1000 },
    timeout: 60_000,
  });
  const offHost = [];
  const consoleErrors = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT);
    // Nothing leaves the machine: requests to any other host are recorded and refused.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${pageUrl}/`) || url.startsWith('data:')) return route.continue();
      offHost.push(url);
      return route.abort();
    });
    // Violations of the Content-Security-Policy, as the page itself sees them.
    await page.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        window.cspViolations.push(`${event.violatedDirective}: ${event.blockedURI}`);
      });
    });
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // The browser reports the API's own error answers (the second delete's 404) as failed
      // loads; they are what the test asks for.
      const apiAnswer = message.location().url.startsWith(`${pageUrl}/api/2.0/crm/`);
      if (apiAnswer && message.text().startsWith('Failed to load resource')) return;
      consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));

    const opened = await page.goto(`${pageUrl}/swagger-ui/`);
    const csp = opened.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/, 'Swagger UI is served with a Content-Security-Policy');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(opened.headers()['x-frame-options'], 'DENY');
    const operation = page.locator('#operations-Contacts-deleteContact');
    await operation.waitFor();

    // Authorize: paste the key, apply it, close the dialog.
    await page.locator('.auth-wrapper button.authorize').click();
    await page.getByLabel('Value:').fill(apiKey);
    await page.locator('.auth-btn-wrapper button.authorize').click();
    await page.locator('.auth-btn-wrapper button.btn-done').click();
    await assert.doesNotReject(page.locator('.auth-wrapper button.authorize.locked').waitFor());

    // Try it out on the delete, for the demo contact.
    await operation.locator('.opblock-summary-control').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.locator('tr[data-param-name="contactid"] input').fill(String(contact.ID));
    const execute = operation.getByRole('button', { name: 'Execute' });
    const status = operation.locator('.live-responses-table .response .response-col_status');
    const body = operation.locator('.live-responses-table .response-col_description pre').first();
    // The live result: curl, request URL, and the server's response (not the documented ones).
    const result = operation.locator('div:has(> .live-responses-table)');

    await execute.click();
    await assert.doesNotReject(status.filter({ hasText: /^\s*200\s*$/ }).waitFor());
    const deleted = await body.innerText();
    assert.match(deleted, new RegExp(`"ID": ${contact.ID}\\b`));
    // The contact's own DisplayName: the top-level one, indented by two spaces.
    const shown = `  "DisplayName": ${JSON.stringify(contact.DisplayName)}`;
    assert.ok(deleted.split('\n').includes(`${shown},`), `the body shows ${shown}`);
    assert.equal(await scrollBodyTo(body, shown), `${shown},`);
    const curl = await operation.locator('.curl-command').innerText();
    assert.match(curl, new RegExp(`Authorization: ${apiKey}`), 'Swagger UI sends the key it was given');
    const shot200 = path.join(outputDir, 'delete-contact-200.png');
    await result.screenshot({ path: shot200 });

    // The same delete again: the contact is gone.
    await execute.click();
    await assert.doesNotReject(status.filter({ hasText: /^\s*404\s*$/ }).waitFor());
    const missing = await body.innerText();
    assert.match(missing, /"Code": "contact_not_found"/);
    const shot404 = path.join(outputDir, 'delete-contact-404.png');
    await result.screenshot({ path: shot404 });

    // The live 404 is the server's answer, not a documented example; the documented 404 of the
    // operation shows its own example, and the 403 its own.
    const documented = (code) =>
      operation.locator(`.responses-table tr.response[data-code="${code}"] .response-col_description`).first();
    assert.match(await documented(403).innerText(), /"Status": 403/);
    assert.match(await documented(404).innerText(), /"Status": 404/);
    // The API agrees with what the page showed: the contact is gone.
    assert.equal((await api('GET', `/api/2.0/crm/contact/${contact.ID}`)).status, 404);

    // The delete put it in the trash: Try it out on the restore, with the same ID.
    const restore = page.locator('#operations-Trash-restoreContact');
    await restore.locator('.opblock-summary-control').click();
    await restore.getByRole('button', { name: 'Try it out' }).click();
    await restore.locator('tr[data-param-name="contactid"] input').fill(String(contact.ID));
    const restoreStatus = restore.locator('.live-responses-table .response .response-col_status');
    const restoreBody = restore.locator('.live-responses-table .response-col_description pre').first();
    await restore.getByRole('button', { name: 'Execute' }).click();
    await assert.doesNotReject(restoreStatus.filter({ hasText: /^\s*200\s*$/ }).waitFor());
    const restored = await restoreBody.innerText();
    assert.match(restored, new RegExp(`"ID": ${contact.ID}\\b`), 'the contact is back under the same ID');
    assert.ok(restored.split('\n').includes(`${shown},`), `the restored body shows ${shown}`);
    assert.equal(await scrollBodyTo(restoreBody, shown), `${shown},`);
    const restoreCurl = await restore.locator('.curl-command').innerText();
    assert.ok(restoreCurl.includes(`-X 'POST'`), `the restore is a POST: ${restoreCurl}`);
    assert.ok(restoreCurl.includes(`/api/2.0/crm/contact/${contact.ID}/restore`), 'to the restore of that ID');
    const shotRestore = path.join(outputDir, 'restore-contact-200.png');
    await restore.locator('div:has(> .live-responses-table)').screenshot({ path: shotRestore });

    assert.deepEqual(offHost, [], `Swagger UI requested nothing beyond ${pageUrl}`);
    assert.deepEqual(
      await page.evaluate(() => window.cspViolations),
      [],
      `no CSP violation (console: ${consoleErrors.join(' | ')})`,
    );
    assert.deepEqual(consoleErrors, [], 'no error on the console');
    // The API agrees with what the page showed: the contact is back, and no longer in the trash.
    const back = await api('GET', `/api/2.0/crm/contact/${contact.ID}`);
    assert.equal(back.status, 200);
    assert.equal(back.body.DisplayName, contact.DisplayName);
    const trash = await api('GET', '/api/2.0/crm/contact/trash?count=500');
    assert.equal(trash.status, 200);
    assert.ok(!trash.body.some((entry) => entry.ID === contact.ID), 'the restored contact left the trash');
    console.log(
      `deleted and restored ${contact.DisplayName} (ID ${contact.ID}); screenshots: ${shot200} ${shot404} ${shotRestore}`,
    );
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
