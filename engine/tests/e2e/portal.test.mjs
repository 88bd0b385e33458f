// End-to-end tests of `mimamori serve` in headless Chromium (Debian's chromium driven by
// playwright-core): each role logs in and sees only what it may; district isolation by URL;
// forms without the CSRF token are refused; approval needs two distinct reviewers; every page
// view lands in the audit log.
//
// Needs the release binary (cargo test --release builds it) and /usr/bin/chromium.
// MIMAMORI_BIN overrides the binary; MIMAMORI_SCREENSHOTS=DIR saves screenshots of the main pages.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const bin = process.env.MIMAMORI_BIN ?? join(root, 'target/release/mimamori');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.MIMAMORI_SCREENSHOTS;
const PASSWORD = 'mimamori-e2e-パスワード';

let dir, ws, server, base, browser;
/** Every page a test opened: [user, path, allowed]. */
const visits = [];

function run(args, input) {
  const r = spawnSync(bin, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mimamori ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  assert.ok(existsSync(bin), `${bin} missing: run cargo test --release (or cargo build --release) first`);
  dir = mkdtempSync(join(tmpdir(), 'mimamori-e2e-'));
  run(['demo', '--out', join(dir, 'demo'), '--households', '2000']);
  ws = join(dir, 'demo', 'workspace');
  for (const name of ['officer', 'cw_minato', 'cw_chuo', 'reviewer1', 'reviewer2']) {
    run(['user', 'add', '--workspace', ws, '--name', name, '--password-stdin'], PASSWORD + '\n');
  }
  server = spawn(bin, ['serve', '--workspace', ws, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  base = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the portal did not start: ${out}`)), 30000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (https:\/\/127\.0\.0\.1:\d+)\//);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    server.on('exit', (c) => fail(new Error(`the portal exited with ${c}: ${out}`)));
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  if (shots) mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh browser (own cookies) logged in as `user` under `purpose`. */
async function login(user, purpose = 'child_outreach') {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 768 }, locale: 'ja-JP' });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  // keyboard only: the user field has focus, Tab moves on, Enter submits
  await page.waitForFunction(() => document.activeElement?.id === 'user');
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.selectOption('#purpose', purpose);
  await page.focus('#password');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
  assert.ok(!page.url().endsWith('/login'), `${user} could not log in: ${await page.textContent('main')}`);
  return { ctx, page, user };
}

/** Clicks `selector` and waits for the page it leads to. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}

async function open(s, path, expectStatus = 200) {
  const r = await s.page.goto(`${base}${path}`);
  if (r.status() !== expectStatus) {
    assert.fail(`${s.user} GET ${path}: ${r.status()} where ${expectStatus} was expected: ${await s.page.textContent('body')}`);
  }
  visits.push([s.user, path.split('?')[0], expectStatus === 200 || expectStatus === 409]);
  return r;
}

async function shot(s, name) {
  if (shots) await s.page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

function auditEntries() {
  return JSON.parse(run(['audit', 'show', '--workspace', ws, '--format', 'json']));
}

/** The ids of the approved-list candidates shown to reviewers, by district id. */
async function listIds(s) {
  await open(s, '/review');
  const ids = await s.page.$$eval('a[href^="/review/lists/"]', (as) => as.map((a) => a.textContent.trim()));
  return Object.fromEntries(ids.map((id) => [id.split('-')[0], id]));
}

async function approve(s, id) {
  await open(s, `/review/lists/${encodeURIComponent(id)}`);
  if (await s.page.$('#override')) await s.page.fill('#override', 'e2e: 公平性の差を確認し、訪問で補う');
  await submit(s.page, 'button:has-text("このリストを承認する")');
  assert.match(await s.page.textContent('main'), /承認を記録しました/);
}

test('the login page is Japanese, wrong passwords are refused, session cookies are locked down', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  const r = await page.goto(`${base}/`);
  assert.ok(page.url().endsWith('/login'), 'without a session the portal asks to log in');
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.match(await page.textContent('main'), /ユーザー名/);
  const h = r.headers();
  assert.match(h['content-security-policy'], /default-src 'none'/);
  assert.equal(h['x-frame-options'], 'DENY');
  assert.match(h['strict-transport-security'], /max-age/);
  await page.fill('#user', 'reviewer1');
  await page.fill('#password', 'not the password at all');
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
  assert.equal(resp.status(), 401);
  assert.match(await page.textContent('main'), /ユーザー名またはパスワードが違います/);
  await ctx.close();

  const s = await login('reviewer1');
  const cookies = await s.ctx.cookies();
  const session = cookies.find((c) => c.name === '__Host-mimamori');
  assert.ok(session, 'a __Host- session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.equal(session.sameSite, 'Strict');
  await s.ctx.close();
});

test('approval needs two distinct reviewers; caseworkers see only approved lists of their districts', async () => {
  const r1 = await login('reviewer1');
  const ids = await listIds(r1);
  assert.ok(ids.minato && ids.chuo && ids.nishi, `lists of minato, chuo and nishi: ${JSON.stringify(ids)}`);
  await shot(r1, 'reviewer-lists');

  // before any approval the caseworker sees the list as waiting, without households
  const cw = await login('cw_minato');
  await open(cw, '/lists');
  assert.match(await cw.page.textContent('main'), /審査中/);
  await open(cw, `/lists/${encodeURIComponent(ids.minato)}`, 409);

  await approve(r1, ids.minato);
  assert.match(await r1.page.textContent('main'), /承認待ち（1\/2）/);
  await shot(r1, 'reviewer-list');
  // the same reviewer cannot approve twice: no form, and a forged post is refused
  assert.equal(await r1.page.$('text=このリストを承認する'), null);
  const csrf = await r1.page.getAttribute('input[name=csrf]', 'value');
  const again = await r1.ctx.request.post(`${base}/review/lists/${encodeURIComponent(ids.minato)}/approve`, { form: { csrf }, headers: { origin: base } });
  assert.equal(again.status(), 409);
  assert.match(await again.text(), /already/);

  const r2 = await login('reviewer2');
  await approve(r2, ids.minato);
  assert.match(await r2.page.textContent('main'), /承認済み/);
  await approve(r2, ids.chuo);
  await approve(r1, ids.chuo);

  await open(cw, '/lists');
  assert.match(await cw.page.textContent('main'), /承認済み/);
  await open(cw, `/lists/${encodeURIComponent(ids.minato)}`);
  const text = await cw.page.textContent('main');
  assert.match(text, /気になる点/);
  assert.doesNotMatch(text, /虐待/, 'a list never labels a family');
  await shot(cw, 'caseworker-list');
  await open(cw, `/lists/${encodeURIComponent(ids.minato)}/print`);
  await shot(cw, 'caseworker-print');
  // the chuo list belongs to another district
  await open(cw, `/lists/${encodeURIComponent(ids.chuo)}`, 403);

  // a rejected list can no longer be approved
  await open(r1, `/review/lists/${encodeURIComponent(ids.nishi)}`);
  await r1.page.fill('#reason', 'e2e: 理由の記載が不十分');
  await submit(r1.page, 'button:has-text("差し戻す")');
  assert.match(await r1.page.textContent('main'), /差し戻しを記録しました/);
  await open(r2, `/review/lists/${encodeURIComponent(ids.nishi)}`);
  assert.equal(await r2.page.$('text=このリストを承認する'), null, 'no approval form on a rejected list');
  const token = await r2.page.getAttribute('input[name=csrf]', 'value');
  const late = await r2.ctx.request.post(`${base}/review/lists/${encodeURIComponent(ids.nishi)}/approve`, { form: { csrf: token }, headers: { origin: base } });
  assert.equal(late.status(), 409);
  assert.match(await late.text(), /rejected/);
  for (const s of [r1, r2, cw]) await s.ctx.close();
});

test('a caseworker records an outcome; another district’s household is 403 by URL; posts without the CSRF token are refused', async () => {
  const cw = await login('cw_minato');
  await open(cw, '/lists');
  await submit(cw.page, 'a[href^="/lists/minato"]');
  const own = await cw.page.$$eval('a[href^="/households/"]', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(own.length > 0, 'the minato list has households');
  await open(cw, own[0]);
  await cw.page.check('input[value=confirmed]');
  await cw.page.fill('#note', '母親と面談。就学援助の申請を案内した。');
  await submit(cw.page, 'button:has-text("記録する")');
  const after = await cw.page.textContent('main');
  assert.match(after, /記録しました: 支援が必要と確認/);
  assert.match(after, /就学援助の申請を案内した/, 'the note is shown back to copy into the case file');
  await shot(cw, 'caseworker-household');

  const chuo = await login('cw_chuo');
  await open(chuo, '/lists');
  await submit(chuo.page, 'a[href^="/lists/chuo"]');
  const other = await chuo.page.$$eval('a[href^="/households/"]', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(other.length > 0, 'the chuo list has households');
  await open(cw, other[0], 403);
  await open(cw, '/households/999999999999', 403); // no such household: the same answer

  // forms without the session's CSRF token
  const household = own[0];
  for (const form of [{ outcome: 'no-need' }, { outcome: 'no-need', csrf: 'f'.repeat(64) }]) {
    const r = await cw.ctx.request.post(`${base}${household}/outcome`, { form });
    assert.equal(r.status(), 403, `POST ${household}/outcome ${JSON.stringify(form)}`);
  }
  const csrf = await cw.page.getAttribute('input[name=csrf]', 'value');
  const crossSite = await cw.ctx.request.post(`${base}${household}/outcome`, { form: { outcome: 'no-need', csrf }, headers: { origin: 'https://evil.example' } });
  assert.equal(crossSite.status(), 403, 'a cross-site origin is refused even with the token');
  // a form without a valid outcome is refused after the household's check, and logged
  const bogus = await cw.ctx.request.post(`${base}${household}/outcome`, { form: { outcome: 'bogus', csrf }, headers: { origin: base } });
  assert.equal(bogus.status(), 409);
  // the caseworker's token is valid but the household is another district's
  const foreign = await cw.ctx.request.post(`${base}${other[0]}/outcome`, { form: { outcome: 'no-need', csrf }, headers: { origin: base } });
  assert.equal(foreign.status(), 403);
  // without a session at all
  const anon = await browser.newContext({ ignoreHTTPSErrors: true });
  assert.equal((await anon.request.post(`${base}${household}/outcome`, { form: { outcome: 'no-need' } })).status(), 403);
  await anon.close();
  for (const s of [cw, chuo]) await s.ctx.close();
});

test('each role sees only its own pages', async () => {
  const cw = await login('cw_minato');
  for (const p of ['/review', '/audit', '/budget', '/denied', '/officer/quality', '/officer/prevalence']) await open(cw, p, 403);
  const officer = await login('officer');
  await open(officer, '/officer/quality');
  assert.match(await officer.page.textContent('main'), /quality\.json/);
  await shot(officer, 'officer-quality');
  await open(officer, '/officer/link-report');
  await open(officer, '/officer/prevalence?indicator=absence_30_days');
  assert.match(await officer.page.textContent('main'), /該当するこども/);
  await shot(officer, 'officer-prevalence');
  for (const p of ['/audit', '/budget', '/denied', '/lists']) await open(officer, p, 403);
  // an officer may see the lists' state but not approve
  const ids = await listIds(officer);
  const csrf = await officer.page.getAttribute('input[name=csrf]', 'value');
  const r = await officer.ctx.request.post(`${base}/review/lists/${encodeURIComponent(ids.kita)}/approve`, { form: { csrf }, headers: { origin: base } });
  assert.equal(r.status(), 403);
  const reviewer = await login('reviewer1');
  await open(reviewer, '/lists', 403);
  // a purpose not approved for the role is refused at login
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#user', 'cw_minato');
  await page.fill('#password', PASSWORD);
  await page.selectOption('#purpose', 'statistics_release');
  await submit(page, 'button[type=submit]');
  assert.match(await page.textContent('main'), /承認されていません/);
  for (const s of [cw, officer, reviewer]) await s.ctx.close();
  await ctx.close();
});

test('reviewers read, search and verify the audit log, the DP budget and denied accesses', async () => {
  const r = await login('reviewer2');
  await open(r, '/audit?user=cw_minato&decision=deny');
  assert.match(await r.page.textContent('main'), /view_outreach/);
  await shot(r, 'reviewer-audit');
  await submit(r.page, 'text=ハッシュチェーンを検証する');
  assert.match(await r.page.textContent('main'), /改ざんされていません/);
  visits.push([r.user, '/audit/verify', true]);
  await open(r, '/budget');
  assert.match(await r.page.textContent('main'), /statistics_release/);
  await open(r, '/denied');
  assert.match(await r.page.textContent('main'), /cw_minato/);
  await r.ctx.close();
});

test('repeated failed logins are limited', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  let last;
  for (let i = 0; i < 6; i++) {
    await page.goto(`${base}/login`);
    await page.fill('#user', 'custodian_welfare');
    await page.fill('#password', `wrong password ${i}`);
    [last] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
  }
  assert.equal(last.status(), 429);
  assert.match(await page.textContent('main'), /しばらく受け付けません/);
  await ctx.close();

  // attempts sent in parallel are counted before they are verified: at most 5 get through
  const p = await browser.newContext({ ignoreHTTPSErrors: true });
  const form = await (await p.request.get(`${base}/login`)).text();
  const csrf = form.match(/name="csrf" value="([0-9a-f]+)"/)[1];
  const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    p.request.post(`${base}/login`, { form: { csrf, user: 'custodian_registry', password: `guess ${i}`, purpose: 'child_outreach' }, maxRedirects: 0 }).then((r) => r.status())));
  assert.ok(statuses.filter((s) => s !== 429).length <= 5, `parallel guesses: ${statuses}`);
  await p.close();
});

test('a reset password ends the sessions opened with the old one; an unknown list id is a denial', async () => {
  const s = await login('cw_chuo');
  await open(s, '/lists/chuo-2000-01-01-00000000', 403);
  await open(s, '/lists');
  run(['user', 'add', '--workspace', ws, '--name', 'cw_chuo', '--password-stdin'], PASSWORD + '\n');
  await s.page.goto(`${base}/lists`);
  assert.ok(s.page.url().endsWith('/login'), 'the old session no longer works');
  await s.ctx.close();
  const again = await login('cw_chuo');
  await open(again, '/lists');
  await again.ctx.close();
});

test('every page view is in the audit log, allowed or denied, and the log verifies', async () => {
  run(['audit', 'verify', '--workspace', ws]);
  const entries = auditEntries();
  const pages = entries.filter((e) => e.detail?.via === 'portal').map((e) => [e.user, e.detail.page, e.decision]);
  for (const [user, path, allowed] of visits) {
    if (allowed) {
      assert.ok(pages.some(([u, p, d]) => u === user && p === path && d === 'allow'), `no audit entry for ${user} viewing ${path}`);
    } else {
      const denied = entries.filter((e) => e.user === user && e.decision === 'deny' && e.detail?.via === 'portal' && e.detail?.page === path);
      assert.ok(denied.length > 0, `no portal denial logged for ${user} on ${path}`);
    }
  }
  // each denied visit has its own entry: at least as many denials as denied visits per user
  for (const user of new Set(visits.map((v) => v[0]))) {
    const deniedVisits = visits.filter(([u, , a]) => u === user && !a).length;
    const denials = entries.filter((e) => e.user === user && e.decision === 'deny').length;
    assert.ok(denials >= deniedVisits, `${user}: ${deniedVisits} denied visits, ${denials} denials logged`);
  }
  assert.ok(entries.some((e) => e.action === 'login' && e.decision === 'deny'), 'failed logins are logged');
  assert.ok(entries.some((e) => e.detail?.refused === 'no outcome chosen'), 'a refused form is logged');
  assert.ok(entries.some((e) => e.action === 'record_outcome' && e.user === 'cw_minato' && e.decision === 'allow'));
  // no password or note text reaches the log
  const text = JSON.stringify(entries);
  assert.ok(!text.includes(PASSWORD) && !text.includes('就学援助の申請を案内した'));
});
