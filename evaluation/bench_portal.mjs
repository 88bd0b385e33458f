// Portal latency under load: 20 concurrent users on loopback against `mimamori serve` on a demo
// workspace (TLS, self-signed), each logged in and cycling through the pages of its role.
// Bounded: each user sends REQUESTS requests, then the run stops. Prints p50/p95/p99 per page
// and overall, and writes evaluation/results/portal.json.
//
//   node evaluation/bench_portal.mjs [--households 5000] [--users 20] [--requests 50]
//
// Uses only Node's standard library (https, child_process); the binary is target/release/mimamori.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const bin = process.env.MIMAMORI_BIN ?? join(root, 'target/release/mimamori');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const HOUSEHOLDS = arg('households', 5000);
const USERS = arg('users', 20);
const REQUESTS = arg('requests', 50);
// --keepalive: each user keeps its connection open (as a browser does); by default every
// request opens a new TLS connection (the handshake included: the harder case)
const KEEPALIVE = process.argv.includes('--keepalive');
const PASSWORD = 'bench-password-portal';

function run(args, input) {
  const r = spawnSync(bin, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mimamori ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}


function request(base, method, path, { cookie = '', body = null, agent = null } = {}) {
  return new Promise((ok, fail) => {
    const u = new URL(base + path);
    const headers = { cookie, origin: base };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const started = process.hrtime.bigint();
    const req = https.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent: agent ?? new https.Agent({ keepAlive: false, rejectUnauthorized: false }) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, text, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', fail);
    if (body) req.write(body);
    req.end();
  });
}

async function login(base, user) {
  const form = await request(base, 'GET', '/login');
  const loginCookie = form.headers['set-cookie'].map((c) => c.split(';')[0]).join('; ');
  const csrf = form.text.match(/name="csrf" value="([0-9a-f]+)"/)[1];
  const body = new URLSearchParams({ csrf, user, password: PASSWORD, purpose: 'child_outreach' }).toString();
  const r = await request(base, 'POST', '/login', { cookie: loginCookie, body });
  if (r.status !== 303) throw new Error(`login ${user}: ${r.status}`);
  return r.headers['set-cookie'].map((c) => c.split(';')[0]).filter((c) => !c.endsWith('=')).join('; ');
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const dir = mkdtempSync(join(tmpdir(), 'mimamori-bench-portal-'));
let server;
try {
  run(['demo', '--out', join(dir, 'demo'), '--households', String(HOUSEHOLDS)]);
  const ws = join(dir, 'demo', 'workspace');
  for (const name of ['cw_minato', 'cw_chuo', 'reviewer1', 'reviewer2', 'officer']) {
    run(['user', 'add', '--workspace', ws, '--name', name, '--password-stdin'], PASSWORD + '\n');
  }
  // approve every list so caseworkers see households (through the CLI, as reviewers would)
  const lists = JSON.parse(run(['outreach', '--workspace', ws, '--user', 'officer', '--purpose', 'child_outreach', '--format', 'json']));
  const ids = (lists.lists ?? lists.states ?? []).map((l) => l.list_id);
  for (const id of ids) for (const r of ['reviewer1', 'reviewer2']) {
    const a = ['outreach', 'approve', '--workspace', ws, '--list', id, '--reviewer', r, '--override-fairness', 'bench'];
    spawnSync(bin, a, { encoding: 'utf8' });
  }
  server = spawn(bin, ['serve', '--workspace', ws, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((ok, fail) => {
    let out = '';
    server.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (https:\/\/127\.0\.0\.1:\d+)\//); if (m) ok(m[1]); });
    server.on('exit', (c) => fail(new Error(`serve exited ${c}`)));
  });
  // roles in the mix of a working day: mostly caseworkers, some reviewers, one officer
  const roles = Array.from({ length: USERS }, (_, i) => (i % 10 < 6 ? (i % 2 ? 'cw_minato' : 'cw_chuo') : i % 10 < 9 ? (i % 2 ? 'reviewer1' : 'reviewer2') : 'officer'));
  const sessions = [];
  for (const u of roles) sessions.push([u, await login(base, u)]);
  const pagesOf = async (user, cookie) => {
    if (user.startsWith('cw_')) {
      const l = await request(base, 'GET', '/lists', { cookie });
      const list = l.text.match(/href="(\/lists\/[^"/]+)"/)?.[1];
      const hs = list ? [...(await request(base, 'GET', list, { cookie })).text.matchAll(/href="(\/households\/\d+)"/g)].map((m) => m[1]) : [];
      return ['/lists', ...(list ? [list] : []), ...hs.slice(0, 5)];
    }
    if (user.startsWith('reviewer')) return ['/review', '/audit', '/budget', '/denied'];
    return ['/officer/quality', '/review'];
  };
  const plans = await Promise.all(sessions.map(([u, c]) => pagesOf(u, c)));
  const samples = [];
  const started = Date.now();
  await Promise.all(sessions.map(async ([user, cookie], i) => {
    const pages = plans[i];
    const agent = KEEPALIVE ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }) : null;
    for (let k = 0; k < REQUESTS; k++) {
      const path = pages[k % pages.length];
      const r = await request(base, 'GET', path, { cookie, agent });
      if (r.status !== 200) throw new Error(`${user} ${path}: ${r.status}`);
      samples.push({ page: path.replace(/\/(\d+|[a-z]+-\d{4}-\d\d-\d\d-[0-9a-f]+)$/, '/:id'), ms: r.ms });
    }
  }));
  const wall = (Date.now() - started) / 1000;
  const all = samples.map((s) => s.ms);
  const byPage = {};
  for (const s of samples) (byPage[s.page] ??= []).push(s.ms);
  const rows = Object.entries(byPage).map(([page, xs]) => ({ page, n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) }));
  const summary = {
    date: new Date().toISOString(), cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30),
    households: HOUSEHOLDS, users: USERS, requests: samples.length, wall_seconds: wall, throughput_rps: samples.length / wall,
    p50_ms: pct(all, 50), p95_ms: pct(all, 95), p99_ms: pct(all, 99), pages: rows,
    keepalive: KEEPALIVE,
    note: KEEPALIVE ? 'each user keeps one TLS connection open' : 'each request opens a new TLS connection: the handshake is included',
  };
  console.log(`portal under load (${summary.note}): ${USERS} users, ${samples.length} requests in ${wall.toFixed(1)} s (${summary.throughput_rps.toFixed(0)} req/s)`);
  console.log(`overall p50 ${summary.p50_ms.toFixed(1)} ms, p95 ${summary.p95_ms.toFixed(1)} ms, p99 ${summary.p99_ms.toFixed(1)} ms (goal: p95 < 100 ms)`);
  for (const r of rows) console.log(`  ${r.page.padEnd(28)} n=${String(r.n).padStart(4)}  p50 ${r.p50.toFixed(1)}  p95 ${r.p95.toFixed(1)}  p99 ${r.p99.toFixed(1)} ms`);
  // evaluation/run --quick writes elsewhere
  const results = process.env.RESULTS_DIR || join(here, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, KEEPALIVE ? 'portal-keepalive.json' : 'portal.json'), JSON.stringify(summary, null, 2) + '\n');
} finally {
  server?.kill('SIGINT');
  rmSync(dir, { recursive: true, force: true });
}
