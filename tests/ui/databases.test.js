// The /ui/databases page of a running `jern serve` in Debian's chromium
// (headless, playwright-core). Started by tests/integration/test_ui.py, which
// creates the database, attaches an app and makes a backup, and passes:
//   ADMIN_URL  http://127.0.0.1:PORT of the TCP admin listener
//   TOKEN      the admin token;  DB  the database;  APP  the attached app
//   BACKUP     the backup's id;  SHOTS  a directory for screenshots (optional)
// Prints one "ok STEP" line per step; exits non-zero on the first failure.
'use strict';
const { chromium } = require('playwright-core');
const assert = require('assert');
const path = require('path');

const { ADMIN_URL, TOKEN, DB, APP, BACKUP, SHOTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();
const ok = (what) => console.log(`ok ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => { console.error('page error: ' + e.message); process.exitCode = 1; });

  await page.goto(ADMIN_URL + '/ui/databases');
  assert(page.url().endsWith('/ui/login'), 'redirected to the login page: ' + page.url());
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(ADMIN_URL + '/ui'), page.click('button[type=submit]')]);
  await page.click('nav a[href="/ui/databases"]');
  const row = `#databases tr[data-database="${DB}"]`;
  await page.waitForSelector(row);
  const cells = await page.evaluate((sel) => {
    const r = document.querySelector(sel);
    const t = (c) => r.querySelector(c).textContent;
    return { engine: t('td.engine'), size: t('td.size'), apps: t('td.apps'), last: t('td.last-backup'), memory: t('td.memory') };
  }, row);
  assert(/^mariadb 10\.\d+\.\d+$/.test(cells.engine), 'engine: ' + cells.engine);
  assert(/ MiB$/.test(cells.size), 'size: ' + cells.size);
  assert.strictEqual(cells.apps, APP, 'attached apps');
  assert(cells.last.startsWith(BACKUP), 'last backup: ' + cells.last);
  assert(cells.memory.startsWith('256M'), 'memory: ' + cells.memory);
  ok(`the database is listed: ${JSON.stringify(cells)}`);

  await page.waitForSelector(`#backups table[data-database="${DB}"] tr[data-backup="${BACKUP}"]`);
  const kind = await page.textContent(`#backups tr[data-backup="${BACKUP}"] td:nth-child(2)`);
  assert.strictEqual(kind, 'manual');
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'ui-databases.png'), fullPage: true });
  ok('its backups are listed');
  await browser.close();
}

main().catch((e) => { console.error('FAIL ' + (e && e.stack || e)); process.exit(1); });
