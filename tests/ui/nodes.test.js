// The /ui/nodes page and the app page's node column of a running `jern serve`
// in Debian's chromium (headless, playwright-core). Started by
// tests/integration/test_ui_nodes.py, which passes:
//   ADMIN_URL  http://127.0.0.1:PORT of the TCP admin listener;  TOKEN  the admin token
//   EXPECT     JSON: {"node": this node, "nodes": {NAME: "k=v, ..."},
//              "where": {APP: [node of each instance, sorted]}, "inside": {APP: bool},
//              "app": APP whose instance table to check,
//              "logs": {APP: [nodes keeping its logs]} (default: its instances' nodes),
//              "outside": {APP: ["KIND@NODE", ...]} rows shown outside its labels
//              (default none when "inside" is true), "data": {APP: [KIND, ...]}
//              rows that must be there besides instances and logs (database, backups)}
//   SHOTS      a directory for screenshots (optional)
// Prints one "ok STEP" line per step; exits non-zero on the first failure.
'use strict';
const { chromium } = require('playwright-core');
const assert = require('assert');
const path = require('path');

const { ADMIN_URL, TOKEN, SHOTS } = process.env;
const EXPECT = JSON.parse(process.env.EXPECT);
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
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => { console.error('page error: ' + e.message); process.exitCode = 1; });
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(ADMIN_URL)) outside.push(r.url()); });

  await page.goto(ADMIN_URL + '/ui/nodes');
  assert(page.url().endsWith('/ui/login'), 'redirected to the login page: ' + page.url());
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(ADMIN_URL + '/ui'), page.click('button[type=submit]')]);
  await page.click('nav a[href="/ui/nodes"]');
  await page.waitForSelector('nav a.on[data-nav="nodes"]');

  // The nodes with their labels (the page refreshes every 2 s: wait for all).
  const names = Object.keys(EXPECT.nodes).sort();
  await page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll('#nodes tr[data-node]')]
    .map((r) => r.dataset.node).sort()) === JSON.stringify(want), names, { timeout: 30000 });
  for (const [name, labels] of Object.entries(EXPECT.nodes)) {
    const got = await page.textContent(`#nodes tr[data-node="${name}"] td.labels`);
    assert.strictEqual(got, labels, `labels of ${name}`);
  }
  const me = await page.textContent(`#nodes tr[data-node="${EXPECT.node}"] td:first-child`);
  assert(me.includes('(this node)'), 'this node is marked: ' + me);
  ok(`nodes listed with their labels: ${names.join(', ')}`);

  // Where each app's instances and logs are, and whether inside its labels.
  for (const [app, nodes] of Object.entries(EXPECT.where)) {
    const sec = `#where section[data-app="${app}"]`;
    await page.waitForFunction(([sel, want]) => JSON.stringify([...document.querySelectorAll(sel + ' tr[data-kind=instance]')]
      .map((r) => r.dataset.node).sort()) === JSON.stringify(want), [sec, nodes], { timeout: 60000 });
    const wantLogs = (EXPECT.logs || {})[app] || [...new Set(nodes)].sort();
    await page.waitForFunction(([sel, want]) => JSON.stringify([...document.querySelectorAll(sel + ' tr[data-kind=logs]')]
      .map((r) => r.dataset.node).sort()) === JSON.stringify(want), [sec, wantLogs], { timeout: 30000 });
    const logs = wantLogs;
    for (const kind of (EXPECT.data || {})[app] || []) {
      await page.waitForSelector(`${sec} tr[data-kind="${kind}"]`, { timeout: 30000 });
    }
    // Each row's inside cell: "NO" exactly on the rows named outside.
    const rows = await page.$$eval(sec + ' tbody tr', (rs) => rs.map((r) => [r.dataset.kind + '@' + r.dataset.node,
      (r.querySelector('td.inside, td.outside') || {}).textContent]));
    const outside = new Set((EXPECT.outside || {})[app] || []);
    for (const [row, cell] of rows) {
      assert.strictEqual(cell, outside.has(row) ? 'NO' : 'yes', `${app}'s ${row} inside its labels`);
    }
    for (const row of outside) assert(rows.some(([r]) => r === row), `${app}: a row ${row}`);
    assert.strictEqual(EXPECT.inside[app], outside.size === 0, 'EXPECT.inside agrees with EXPECT.outside');
    const banner = await page.textContent(sec + ' h3 span.' + (EXPECT.inside[app] ? 'inside' : 'outside'));
    assert.strictEqual(banner, EXPECT.inside[app] ? 'everything inside' : 'something outside the required labels');
    ok(`${app}: instances on ${nodes.join(', ')}, logs on ${logs.join(', ')}, ` +
      `${rows.length} rows, outside its labels: ${[...outside].join(', ') || 'none'}`);
  }
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'ui-nodes.png'), fullPage: true });

  // The app page's instance table names each instance's node.
  const want = EXPECT.where[EXPECT.app];
  await page.goto(ADMIN_URL + '/ui/apps/' + EXPECT.app);
  await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('#instances td.node')]
    .map((t) => t.textContent).sort()) === JSON.stringify(w), want, { timeout: 30000 });
  ok(`the instance table's node column: ${want.join(', ')}`);
  assert.deepStrictEqual(outside, [], 'nothing loaded from elsewhere');
  await browser.close();
}

main().catch((e) => { console.error('FAIL ' + (e && e.stack || e)); process.exit(1); });
