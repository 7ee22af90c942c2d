// Drives the /ui dashboard of a running `jern serve` in Debian's chromium
// (headless, through playwright-core; no browser download). Started by
// tests/integration/test_ui.py, which deploys the app (two releases, the
// second serving) and passes:
//   ADMIN_URL    http://127.0.0.1:PORT of the TCP admin listener
//   GATEWAY_URL  http://127.0.0.1:PORT of the public gateway
//   TOKEN        the admin token;  APP  the app's name
//   SHOTS        a directory for screenshots (optional)
// Prints one "ok STEP" line per step; exits non-zero on the first failure.
'use strict';
const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const assert = require('assert');
const path = require('path');

const { ADMIN_URL, GATEWAY_URL, TOKEN, APP, SHOTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();
const ok = (what) => console.log(`ok ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function main() {
  // launch() gives chromium a fresh, temporary --user-data-dir of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const outside = [];
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(ADMIN_URL) && !u.startsWith('data:')) outside.push(u); });
  page.on('pageerror', (e) => { console.error('page error: ' + e.message); process.exitCode = 1; });
  const tails = [];
  page.on('request', (r) => { if (r.url().endsWith('/logs')) tails.push(r.url()); });
  page.on('dialog', (d) => d.accept());

  // Nothing for the public gateway port, nothing without a session.
  for (const p of ['/ui', '/ui/login', '/ui/data', '/ui/assets/dashboard.js']) {
    const r = await page.request.get(GATEWAY_URL + p, { headers: { Host: 'localhost' }, maxRedirects: 0 });
    assert.notStrictEqual(r.status(), 200, `the gateway answered ${p}`);
    assert(!(await r.text()).includes('uPlot'), `the gateway served dashboard code at ${p}`);
  }
  const anon = await page.request.get(ADMIN_URL + '/ui/data', { maxRedirects: 0 });
  assert.strictEqual(anon.status(), 401, 'data without a session');
  ok('no dashboard on the public port, no data without a session');

  // A wrong token gets the login page again, no cookie.
  await page.goto(ADMIN_URL + '/ui');
  assert(page.url().endsWith('/ui/login'), 'redirected to the login page: ' + page.url());
  await page.fill('input[name=token]', 'not-the-token-at-all');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Wrong token.');
  assert.strictEqual((await context.cookies()).length, 0, 'a wrong token opened a session');
  ok('a wrong token is refused');

  // The right token: a session cookie, HttpOnly and SameSite=Strict.
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(ADMIN_URL + '/ui'), page.click('button[type=submit]')]);
  const [cookie] = await context.cookies();
  assert(cookie && cookie.name === 'jern_session' && cookie.httpOnly && cookie.sameSite === 'Strict',
    'session cookie: ' + JSON.stringify(cookie));
  assert.strictEqual(await page.evaluate(() => document.cookie), '', 'the page can read the cookie');
  await page.waitForSelector(`#apps tr[data-app="${APP}"]`);
  ok('logged in, the app is listed');
  await page.click('[data-window="300"]'); // graphs over the last 5 minutes

  // A second tab stays on the overview for the rest of the run: its heap
  // must not grow while it polls and redraws once a second.
  const watch = await context.newPage();
  await watch.goto(ADMIN_URL + '/ui');
  await watch.waitForSelector(`#apps tr[data-app="${APP}"]`);
  await watch.waitForTimeout(1500);
  const cdp = await context.newCDPSession(watch);
  await cdp.send('Performance.enable');
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    return { used: metrics.find((m) => m.name === 'JSHeapUsedSize').value, since: await watch.evaluate(() => window.jern.since) };
  };
  const heap0 = await heap();

  // A state-changing request without the CSRF token is refused.
  const forged = await page.evaluate(async (app) => (await fetch(`/ui/api/apps/${app}/rollback`,
    { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } })).status, APP);
  assert.strictEqual(forged, 403, 'a POST without X-CSRF-Token');
  ok('a POST without the CSRF token gets 403');

  // Load through the gateway: the req/s cell and graph rise.
  const wrk = spawn('wrk', ['-t1', '-c4', '-d8s', '-H', `Host: ${APP}.localhost`, GATEWAY_URL + '/'], { stdio: 'ignore' });
  const rps = await waitFor('req/s above 50', async () => {
    const v = await page.evaluate((app) => {
      const cell = document.querySelector(`#apps tr[data-app="${app}"] td.rps`);
      const chart = window.jern.charts[app + ':rps'];
      return { cell: parseFloat(cell.textContent), max: Math.max(0, ...chart.data[1].filter((x) => x != null)) };
    }, APP);
    return v.cell > 50 && v.max > 50 && v;
  });
  await shot(page, 'ui-overview.png');
  ok(`req/s rose under wrk load (cell ${rps.cell}, graph max ${rps.max})`);

  // The app page: releases, instances, live log tail over SSE.
  await page.click(`#apps a[href="/ui/apps/${APP}"]`);
  await page.waitForSelector('#serving:text("serving v2")');
  await page.waitForSelector('#instances td:text("running")');
  const first = await waitFor('a log line', async () => {
    const t = await page.textContent('#logs');
    return /tick \d+/.test(t) && t.trim().split('\n').pop();
  });
  await waitFor('a new log line', async () => (await page.textContent('#logs')).trim().split('\n').pop() !== first);
  // Pushed over the one open stream, not asked for again each second.
  assert.strictEqual(tails.length, 1, 'requests for the log tail: ' + tails.join(' '));
  ok('the log tail shows a new line, pushed over one stream');
  wrk.kill('SIGINT');
  await shot(page, 'ui-app.png');

  // Roll back: the serving release changes.
  await page.click('#releases tr[data-version="1"] button.rollback');
  await page.waitForSelector('#serving:text("serving v1")', { timeout: 20000 });
  ok('rollback to v1 from the page');

  // Upstreams: drain and ready a server.
  await page.click('nav a[href="/ui/upstreams"]');
  const row = `section[data-upstream="${APP}"] tbody tr`;
  await page.waitForSelector(`${row} td.state:text("ready")`);
  await page.click(`${row} button.drain`);
  await page.waitForSelector(`${row} td.state:text("drain")`);
  await shot(page, 'ui-upstreams.png');
  await page.click(`${row} button.ready`);
  await page.waitForSelector(`${row} td.state:text("ready")`);
  ok('drain and ready an upstream server');

  const heap1 = await heap();
  const polled = heap1.since - heap0.since;
  assert(polled >= 8, `the overview tab polled only ${polled} s of samples`);
  assert(heap1.used - heap0.used < 512 * 1024, `the overview's JS heap grew ${heap1.used - heap0.used} bytes in ${polled} s`);
  ok(`the overview's JS heap: ${(heap0.used / 1024).toFixed(0)} kB -> ${(heap1.used / 1024).toFixed(0)} kB over ${polled} s of polling`);

  assert.deepStrictEqual(outside, [], 'the page loaded something from elsewhere');
  const weight = await page.evaluate(() => performance.getEntriesByType('resource')
    .concat(performance.getEntriesByType('navigation'))
    .filter((e) => !e.name.includes('/ui/data') && !e.name.includes('/ui/api/') && !e.name.includes('/logs'))
    .reduce((n, e) => n + (e.transferSize || e.encodedBodySize || 0), 0));
  assert(weight > 0 && weight < 200 * 1024, `page weight ${weight} bytes`);
  ok(`page weight ${weight} bytes, nothing loaded from elsewhere`);
  await browser.close();
}

main().catch((e) => { console.error('FAIL ' + (e && e.stack || e)); process.exit(1); });
