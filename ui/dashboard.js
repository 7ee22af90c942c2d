/* jern dashboard: one page, no framework. Reads /ui/data (the daemon's
 * one-hour ring, polled once a second) and a few /ui/api routes (the /v1 API
 * behind the session). Every chart and array is created once per page and
 * reused, so memory stays flat however long the page stays open. */
'use strict';

const CSRF = document.querySelector('meta[name=csrf]').content;
const HOUR = 3600;
const SERIES = ['rps', 'p50', 'p99', 'r2xx', 'r4xx', 'r5xx', 'instances'];
const jern = (window.jern = { hist: {}, charts: {}, since: 0, now: 0, window: 3600, releases: {} });

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

async function api(path, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (opts.method && opts.method !== 'GET') {
    headers['X-CSRF-Token'] = CSRF;
    headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(path, { credentials: 'same-origin', ...opts, headers });
  if (r.status === 401) { location.href = '/ui/login'; throw new Error('logged out'); }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

const fmt = (x, d = 1) => (x == null || isNaN(x) ? '–' : Number(x).toFixed(d));
const ago = (t) => { const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  return s < 90 ? s + ' s ago' : s < 5400 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago'; };

/* ---- history: fixed-length arrays per app, appended once a second ---- */
function histFor(app) {
  let h = jern.hist[app];
  if (!h) {
    h = jern.hist[app] = { t: [] };
    for (const s of SERIES) h[s] = [];
  }
  return h;
}

function absorb(data) {
  jern.now = data.now;
  for (const [app, a] of Object.entries(data.apps)) {
    const h = histFor(app);
    const n = a.rps.length;
    for (let i = 0; i < n; i++) {
      const t = a.t0 + i;
      if (h.t.length && t <= h.t[h.t.length - 1]) continue;
      h.t.push(t);
      for (const s of SERIES) h[s].push(a[s][i]);
    }
    const extra = h.t.length - HOUR;
    if (extra > 0) for (const k of Object.keys(h)) h[k].splice(0, extra);
    if (n) jern.since = Math.max(jern.since, a.t0 + n - 1);
  }
}

/* ---- charts (uPlot) ---- */
function deployMarks(app) {
  return {
    hooks: {
      draw: [(u) => {
        const rel = jern.releases[app] || [];
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#b4431b'; ctx.fillStyle = '#b4431b';
        ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.font = 11 * devicePixelRatio + 'px system-ui';
        for (const r of rel) {
          const x = u.valToPos(r.created_at, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
          ctx.fillText('v' + r.version, x + 3, u.bbox.top + 12 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
}

function chart(key, parent, title, app, series, width) {
  const h = histFor(app);
  const opts = {
    title, width: width || 440, height: 170,
    scales: { x: { time: true, range: () => [jern.now - jern.window, jern.now] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    series: [{}, ...series.map(([k, label, color]) => ({ label, stroke: color, width: 1.5, points: { show: false } }))],
    plugins: [deployMarks(app)],
  };
  const data = [h.t, ...series.map(([k]) => h[k])];
  const u = new uPlot(opts, data, parent);
  u.jernKeys = series.map(([k]) => k);
  u.jernApp = app;
  jern.charts[key] = u;
  return u;
}

function redrawCharts() {
  for (const u of Object.values(jern.charts)) {
    const h = histFor(u.jernApp);
    u.setData([h.t, ...u.jernKeys.map((k) => h[k])]);
  }
}

const RATE = [['rps', 'req/s', '#2563eb']];
const CLASSES = [['r2xx', '2xx/s', '#1f8f4e'], ['r4xx', '4xx/s', '#c07b00'], ['r5xx', '5xx/s', '#c0262d']];
const LAT = [['p50', 'p50 ms', '#7c3aed'], ['p99', 'p99 ms', '#db2777']];
const INST = [['instances', 'instances', '#0f766e']];

/* ---- pages ---- */
const main = document.getElementById('main');
const path = location.pathname.replace(/\/+$/, '');
let page = null;

function last(h, k) { return h[k].length ? h[k][h[k].length - 1] : null; }

const overview = {
  async init() {
    const { apps } = await api('/ui/api/apps');
    main.replaceChildren(el('h1', {}, 'Apps'));
    if (!apps.length) { main.append(el('p', { class: 'muted' }, 'No apps yet (create one: jern create NAME).')); return; }
    const rows = apps.map((a) => {
      const cells = {};
      const tr = el('tr', { 'data-app': a.name }, el('td', {}, el('a', { href: '/ui/apps/' + encodeURIComponent(a.name) }, a.name)));
      for (const k of ['rps', 'p50', 'p99', 'r2xx', 'r4xx', 'r5xx', 'instances']) {
        cells[k] = el('td', { class: 'num ' + k }, '–');
        tr.append(cells[k]);
      }
      return { app: a.name, tr, cells };
    });
    this.rows = rows;
    main.append(el('table', { id: 'apps' },
      el('thead', {}, el('tr', {}, ...['app', 'req/s', 'p50 ms', 'p99 ms', '2xx/s', '4xx/s', '5xx/s', 'instances'].map((x, i) => el('th', { class: i ? 'num' : '' }, x)))),
      el('tbody', {}, ...rows.map((r) => r.tr))));
    const cards = el('div', { class: 'cards' });
    main.append(cards);
    for (const a of apps) {
      const c = el('div', { class: 'card' }, el('h3', {}, el('a', { href: '/ui/apps/' + encodeURIComponent(a.name) }, a.name)));
      cards.append(c);
      chart(a.name + ':rps', c, 'requests per second', a.name, RATE.concat(CLASSES.slice(2)), 400);
      chart(a.name + ':lat', c, 'latency (ms)', a.name, LAT, 400);
    }
  },
  tick() {
    for (const r of this.rows || []) {
      const h = histFor(r.app);
      for (const k of Object.keys(r.cells)) r.cells[k].textContent = fmt(last(h, k), k === 'instances' ? 0 : 1);
    }
  },
};

const appPage = {
  async init(app) {
    this.app = app;
    this.serving = el('span', { id: 'serving', class: 'muted' });
    this.msg = el('div');
    const charts = el('div', { class: 'charts' });
    this.relBody = el('tbody');
    this.psBody = el('tbody');
    this.scale = el('div', { class: 'kv', id: 'autoscale' });
    this.logs = el('pre', { class: 'logs', id: 'logs' }, 'waiting for the log tail…');
    main.replaceChildren(
      el('h1', {}, app, ' ', this.serving), this.msg, charts,
      el('h2', {}, 'Releases'),
      el('table', { id: 'releases' }, el('thead', {}, el('tr', {}, ...['release', 'status', 'created', 'image / command', ''].map((x) => el('th', {}, x)))), this.relBody),
      el('h2', {}, 'Instances'),
      el('table', { id: 'instances' }, el('thead', {}, el('tr', {}, ...['instance', 'release', 'state', 'health', 'port', 'node', 'restarts', 'started'].map((x) => el('th', {}, x)))), this.psBody),
      el('h2', {}, 'Autoscaling and cold starts'), this.scale,
      el('h2', {}, 'Log tail (live)'), this.logs);
    chart(app + ':rps', charts, 'requests per second', app, RATE.concat(CLASSES), 440);
    chart(app + ':lat', charts, 'latency (ms)', app, LAT, 440);
    chart(app + ':inst', charts, 'instances', app, INST, 440);
    await this.refresh();
    /* Pushed by the daemon as instances write (the follow of jern logs -f):
     * the last 200 lines, then each new one. Reconnecting sends the last
     * lines again, so the buffer starts over on each open. */
    this.lines = [];
    this.source = new EventSource('/ui/apps/' + encodeURIComponent(app) + '/logs');
    this.source.addEventListener('open', () => { this.lines.length = 0; this.showLogs(); });
    this.source.addEventListener('line', (ev) => {
      const l = JSON.parse(ev.data);
      this.lines.push(new Date(l.at).toTimeString().slice(0, 8) + ' ' + l.instance + ' | ' + l.text);
      if (this.lines.length > 500) this.lines.splice(0, this.lines.length - 500);
      if (!this.pending) this.pending = setTimeout(() => this.showLogs(), 100);
    });
    this.source.addEventListener('error', () => { if (this.source.readyState === EventSource.CLOSED) this.logs.textContent = 'the log tail is unavailable (reload the page)'; });
  },
  showLogs() {
    this.pending = null;
    const atEnd = this.logs.scrollTop + this.logs.clientHeight >= this.logs.scrollHeight - 4;
    this.logs.textContent = this.lines.length ? this.lines.join('\n') : '(no output yet)';
    if (atEnd) this.logs.scrollTop = this.logs.scrollHeight;
  },
  async rollback(version) {
    if (!confirm('Roll ' + this.app + ' back to release v' + version + '?')) return;
    try {
      const r = await api('/ui/api/apps/' + encodeURIComponent(this.app) + '/rollback', { method: 'POST', body: JSON.stringify({ release: version }) });
      this.msg.replaceChildren(el('p', { class: 'msg' }, 'Rolling back to v' + version + ' (job ' + (r.job || '') + ')…'));
    } catch (e) { this.msg.replaceChildren(el('p', { class: 'msg error' }, e.message)); }
    this.refresh();
  },
  async refresh() {
    const a = encodeURIComponent(this.app);
    const [rel, ps, where] = await Promise.all([api('/ui/api/apps/' + a + '/releases').catch(() => ({ releases: [] })), api('/ui/api/apps/' + a + '/ps').catch(() => ({ instances: [] })),
      api('/ui/api/where/' + a).catch(() => ({ apps: [] }))]);
    /* This node's instances from ps; the other nodes' (a cluster) from where. */
    const here = new Set(ps.instances.map((i) => i.node));
    const remote = ((where.apps[0] || {}).items || []).filter((i) => i.kind === 'instance' && !here.has(i.node));
    jern.releases[this.app] = rel.releases;
    /* Redraw a table only when it changed: a button stays put under the pointer. */
    const key = JSON.stringify(rel.releases);
    const same = key === this.lastKey;
    this.lastKey = key;
    const active = rel.releases.find((r) => r.status === 'active');
    this.serving.textContent = active ? 'serving v' + active.version : 'no release serving';
    if (!same) this.relBody.replaceChildren(...rel.releases.map((r) => el('tr', { 'data-version': r.version },
      el('td', {}, 'v' + r.version), el('td', { class: 'st-' + r.status }, r.status), el('td', {}, ago(r.created_at)),
      el('td', {}, r.image || r.command || ''),
      el('td', {}, r.status === 'retired' ? el('button', { class: 'act rollback', type: 'button', onclick: () => this.rollback(r.version) }, 'Roll back to v' + r.version) : ''))));
    this.psBody.replaceChildren(...ps.instances.map((i) => el('tr', {},
      el('td', {}, i.name), el('td', {}, 'v' + i.release), el('td', { class: 'state-' + i.state }, i.state), el('td', { class: 'health-' + i.health }, i.health),
      el('td', { class: 'num' }, i.port || '–'), el('td', { class: 'node' }, i.node), el('td', { class: 'num' }, i.restarts), el('td', {}, i.started_at ? ago(i.started_at) : '–'))),
    ...remote.map((i) => el('tr', { class: 'remote' }, el('td', {}, i.where), el('td', {}, 'v' + i.release), el('td', { class: 'muted' }, 'on its node'), el('td', {}, '–'),
      el('td', { class: 'num' }, i.where.split(':').pop()), el('td', { class: 'node' }, i.node), el('td', {}, '–'), el('td', {}, '–'))));
    if (!ps.instances.length && !remote.length) this.psBody.append(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'no instances (scaled to zero or not deployed)')));
    const as = ps.autoscale;
    this.scale.replaceChildren(...(as ? Object.entries(as) : [['autoscale', 'off (fixed instance count)']]).map(([k, v]) => el('span', {}, el('b', {}, k), typeof v === 'object' ? JSON.stringify(v) : String(v))));
  },
  tick(n) { if (n % 2 === 0) this.refresh().catch(() => {}); },
};

const upstreamsPage = {
  async init() {
    this.body = el('div');
    main.replaceChildren(el('h1', {}, 'Upstreams'), this.body);
    await this.refresh();
  },
  async setState(up, addr, state) {
    try {
      await api('/ui/api/upstreams/' + encodeURIComponent(up) + '/servers/' + encodeURIComponent(addr), { method: 'PATCH', body: JSON.stringify({ state }) });
    } catch (e) { alert(e.message); }
    this.refresh();
  },
  async refresh() {
    const { upstreams } = await api('/ui/api/upstreams');
    const key = JSON.stringify(upstreams);
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.body.replaceChildren(...upstreams.map((u) => el('section', { 'data-upstream': u.name },
      el('h2', {}, u.name, el('span', { class: 'muted' }, '  ' + u.kind + ', ' + u.balance)),
      el('table', {}, el('thead', {}, el('tr', {}, ...['server', 'state', 'weight', 'in flight', 'requests', 'failures', ''].map((x) => el('th', {}, x)))),
        el('tbody', {}, ...u.servers.map((s) => el('tr', { 'data-server': s.addr },
          el('td', {}, s.addr), el('td', { class: 'state state-' + s.state }, s.state), el('td', { class: 'num' }, s.weight),
          el('td', { class: 'num' }, s.conns), el('td', { class: 'num' }, s.requests), el('td', { class: 'num' }, s.failures),
          el('td', {}, s.state === 'ready'
            ? el('button', { class: 'act drain', type: 'button', onclick: () => this.setState(u.name, s.addr, 'drain') }, 'Drain')
            : el('button', { class: 'act ready', type: 'button', onclick: () => this.setState(u.name, s.addr, 'ready') }, 'Ready')))))))));
  },
  tick(n) { if (n % 2 === 0) this.refresh().catch(() => {}); },
};

const bytes = (n) => (n == null ? '–' : n >= 1 << 30 ? (n / (1 << 30)).toFixed(1) + ' GiB' : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MiB' : (n / 1024).toFixed(0) + ' KiB');

/* Databases and their backups: one row per database; the backups of the one
 * picked (the first by default) below. */
const databasesPage = {
  async init() {
    this.body = el('tbody');
    this.backups = el('div', { id: 'backups' });
    main.replaceChildren(el('h1', {}, 'Databases'),
      el('table', { id: 'databases' }, el('thead', {}, el('tr', {}, ...['database', 'engine', 'state', 'port', 'memory', 'size', 'conns', 'queries/s', 'apps', 'last backup', 'backups'].map((x) => el('th', {}, x)))), this.body),
      this.backups);
    await this.refresh();
  },
  async pick(name) { this.picked = name; this.lastBackups = null; await this.showBackups(); },
  async showBackups() {
    if (!this.picked) { this.backups.replaceChildren(); return; }
    const b = await api('/ui/api/databases/' + encodeURIComponent(this.picked) + '/backups');
    const key = JSON.stringify(b);
    if (key === this.lastBackups) return;
    this.lastBackups = key;
    const list = b.backups.slice().sort((x, y) => y.created_at - x.created_at);
    this.backups.replaceChildren(el('h2', {}, 'Backups of ' + b.name, el('span', { class: 'muted' },
      b.backup_every_s > 0 ? '  every ' + b.backup_every_s + ' s, keeping ' + b.backup_keep + ' automatic' : '  no schedule')),
    el('table', { 'data-database': b.name }, el('thead', {}, el('tr', {}, ...['backup', 'kind', 'size', 'made'].map((x) => el('th', {}, x)))),
      el('tbody', {}, ...(list.length ? list.map((x) => el('tr', { 'data-backup': x.id }, el('td', {}, x.id), el('td', {}, x.automatic ? 'automatic' : 'manual'),
        el('td', { class: 'num' }, bytes(x.size)), el('td', {}, ago(x.created_at))))
        : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'no backups yet (jern db backup ' + b.name + ')'))]))));
  },
  async refresh() {
    const { databases } = await api('/ui/api/databases');
    if (!this.picked && databases.length) this.picked = databases[0].name;
    this.body.replaceChildren(...databases.map((d) => el('tr', { 'data-database': d.name, class: d.name === this.picked ? 'picked' : '' },
      el('td', {}, el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); this.pick(d.name).then(() => this.refresh()); } }, d.name)),
      el('td', { class: 'engine' }, d.engine + ' ' + (d.version || '').split('-')[0]),
      el('td', { class: 'state-' + d.state }, d.state), el('td', { class: 'num' }, d.port),
      el('td', { class: 'num memory', title: d.memory_limit_bytes ? 'enforced by a memory cgroup' : 'sizes the configuration only (no cgroup)' }, d.memory_mb + 'M' + (d.memory_limit_bytes ? '' : ' *')),
      el('td', { class: 'num size' }, bytes(d.size_bytes)), el('td', { class: 'num' }, d.connections), el('td', { class: 'num' }, fmt(d.queries_per_s)),
      el('td', { class: 'apps' }, d.apps.length ? d.apps.join(', ') : '–'),
      el('td', { class: 'last-backup' }, d.last_backup ? d.last_backup.id + ' (' + ago(d.last_backup.created_at) + ')' : 'never'),
      el('td', { class: 'num' }, d.backups))));
    if (!databases.length) this.body.append(el('tr', {}, el('td', { colspan: 11, class: 'muted' }, 'no databases (jern db create NAME --memory 1G)')));
    await this.showBackups();
  },
  tick(n) { if (n % 2 === 0) this.refresh().catch(() => {}); },
};

const labelText = (l) => { const e = Object.entries(l || {}); return e.length ? e.map(([k, v]) => k + '=' + v).join(', ') : '–'; };

/* Nodes and where each app's data lives: a cluster's /v1/nodes and /v1/where,
 * or a single node describing itself in the same shape. */
const nodesPage = {
  async init() {
    this.head = el('p', { id: 'cluster', class: 'muted' });
    this.body = el('tbody');
    this.where = el('div', { id: 'where' });
    main.replaceChildren(el('h1', {}, 'Nodes'), this.head,
      el('table', { id: 'nodes' }, el('thead', {}, el('tr', {}, ...['node', 'labels', 'memory', 'gateway', 'health', 'instances', ''].map((x, i) => el('th', { class: i === 2 || i === 5 ? 'num' : '' }, x)))), this.body),
      el('h2', {}, 'Where each app\u2019s data lives'), this.where);
    await this.refresh();
  },
  async refresh() {
    const [n, w] = await Promise.all([api('/ui/api/nodes'), api('/ui/api/where')]);
    const key = JSON.stringify([n, w]);
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.head.textContent = n.cluster === false
      ? 'A single node (not in a cluster): everything runs here.'
      : 'Cluster: etcd ' + (n.etcd ? 'reachable' : 'unreachable (the last known state)' + (n.error ? ': ' + n.error : '')) +
        ', this node ' + n.node + ', scheduler ' + (n.scheduler || '–') + '.';
    this.body.replaceChildren(...n.nodes.map((x) => el('tr', { 'data-node': x.name },
      el('td', {}, x.name, x.name === n.node ? el('span', { class: 'muted' }, ' (this node)') : ''),
      el('td', { class: 'labels' }, labelText(x.labels)), el('td', { class: 'num' }, bytes(x.memory)),
      el('td', {}, x.gateway || '–'), el('td', { class: 'health-' + (x.health === 'ok' ? 'healthy' : 'unhealthy') }, x.health || '–'),
      el('td', { class: 'num instances' }, x.instances), el('td', { class: 'state-draining' }, x.draining ? 'draining' : ''))));
    if (!n.nodes.length) this.body.append(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'no live node in etcd')));
    this.where.replaceChildren(...w.apps.map((a) => el('section', { 'data-app': a.app },
      el('h3', {}, el('a', { href: '/ui/apps/' + encodeURIComponent(a.app) }, a.app), el('span', { class: 'muted' }, '  requires ' + (Object.keys(a.require || {}).length ? labelText(a.require) : 'nothing') + '  '),
        el('span', { class: a.inside ? 'inside' : 'outside' }, a.inside ? 'everything inside' : 'something outside the required labels')),
      a.placement_error ? el('p', { class: 'msg error' }, a.placement_error) : '',
      el('table', {}, el('thead', {}, el('tr', {}, ...['kind', 'node', 'where', 'node labels', 'inside'].map((x) => el('th', {}, x)))),
        el('tbody', {}, ...(a.items.length ? a.items.map((i) => el('tr', { 'data-kind': i.kind, 'data-node': i.node },
          el('td', {}, i.kind + (i.release ? ' v' + i.release : '')), el('td', {}, i.node), el('td', {}, i.where || '–'),
          el('td', {}, labelText(i.labels)), el('td', { class: i.inside ? 'inside' : 'outside' }, i.inside ? 'yes' : 'NO')))
          : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'nothing placed (not deployed or scaled to zero)'))]))))));
    if (!w.apps.length) this.where.append(el('p', { class: 'muted' }, 'No apps yet.'));
  },
  tick(n) { if (n % 2 === 0) this.refresh().catch(() => {}); },
};

/* ---- the once-a-second loop ---- */
let ticks = 0;
let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const q = '/ui/data?since=' + jern.since + (page === appPage ? '&app=' + encodeURIComponent(appPage.app) : '');
    absorb(await api(q));
    redrawCharts();
    page.tick(ticks++);
  } catch (e) {
    document.getElementById('daemon').textContent = 'daemon unreachable: ' + e.message;
  } finally { polling = false; }
}

function setWindow(sec) {
  jern.window = sec;
  for (const b of document.querySelectorAll('[data-window]')) b.classList.toggle('on', Number(b.dataset.window) === sec);
  localStorage.setItem('jern.window', String(sec));
  redrawCharts();
}

async function start() {
  for (const b of document.querySelectorAll('[data-window]')) b.addEventListener('click', () => setWindow(Number(b.dataset.window)));
  setWindow(Number(localStorage.getItem('jern.window')) || 3600);
  document.getElementById('logout').addEventListener('click', async () => {
    await fetch('/ui/logout', { method: 'POST', headers: { 'X-CSRF-Token': CSRF }, credentials: 'same-origin' });
    location.href = '/ui/login';
  });
  const m = path.match(/^\/ui\/apps\/([^/]+)$/);
  const pages = { '/ui/upstreams': upstreamsPage, '/ui/databases': databasesPage, '/ui/nodes': nodesPage };
  page = m ? appPage : pages[path] || overview;
  const nav = Object.keys(pages).find((k) => pages[k] === page)?.slice(4) || 'overview';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('on', a.dataset.nav === nav);
  try {
    const st = await api('/ui/api/status');
    document.getElementById('daemon').textContent = 'jern ' + (st.version || '');
  } catch (e) { /* shown by poll */ }
  absorb(await api('/ui/data?since=0' + (m ? '&app=' + m[1] : '')));
  await page.init(m ? decodeURIComponent(m[1]) : undefined);
  redrawCharts();
  page.tick(ticks++);
  setInterval(poll, 1000);
}

start().catch((e) => { main.replaceChildren(el('p', { class: 'error' }, 'The dashboard failed to load: ' + e.message)); });
