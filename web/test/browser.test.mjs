// Real-browser tests of wxmp.js and the demo page: headless Chromium drives
// `wxmp-host up --sandbox` (wxmp + the WeChat simulator, whose jweixin
// stand-in checks wx.config signatures against its current ticket).
// Screenshots land in target/browser-screenshots/ for people to look at.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

const repo = path.resolve(import.meta.dirname, '../..');
const hostBin = process.env.WXMP_HOST_BIN || path.join(repo, 'target/debug/wxmp-host');
const shots = path.join(repo, 'target/browser-screenshots');
const ANDROID = 'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64 Weixin NetType/WIFI Language/zh_CN';
const IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN';

let host;
let base;
let browser;
let output = '';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function eventually(what, f, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPIN_VARIABLE_')));
  host = spawn(hostBin, ['up', '--sandbox', '--listen', `127.0.0.1:${port}`, '-f', path.join(repo, 'spin.toml')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  host.stdout.on('data', (d) => { output += d; });
  host.stderr.on('data', (d) => { output += d; });
  await eventually('the sandbox', async () => (await fetch(`${base}/healthz`)).ok);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  host?.kill('SIGINT');
});

async function phone(userAgent = ANDROID) {
  const context = await browser.newContext({ userAgent, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  return { context, page: await context.newPage() };
}

async function loginWithProfile(page) {
  await page.goto(`${base}/`);
  await page.click('#login-userinfo');
  await page.waitForSelector('#allow');
  await page.screenshot({ path: path.join(shots, 'consent.png') });
  await page.click('#allow');
  await page.waitForFunction(() => document.getElementById('nickname')?.textContent.includes('Alice'));
}

test('snsapi_userinfo login through the consent page renders the profile', async () => {
  const { context, page } = await phone();
  await loginWithProfile(page);
  assert.equal(page.url(), `${base}/`);
  assert.equal(await page.textContent('#openid'), 'oSIMuser0000000000000000001');
  assert.equal(await page.textContent('#unionid'), 'uSIMunion000000000000000001');
  assert.equal(await page.textContent('#scope'), 'snsapi_userinfo');
  assert.equal(await page.isVisible('#logged-out'), false);
  await page.screenshot({ path: path.join(shots, 'profile.png'), fullPage: true });
  await context.close();
});

for (const [name, ua] of [['Android', ANDROID], ['iOS', IOS]]) {
  test(`configure() is ready, and again after a SPA route change (${name} URL rule)`, async () => {
    const { context, page } = await phone(ua);
    await page.goto(`${base}/`);
    await page.click('#configure');
    await page.waitForSelector('#jssdk[data-state="ready"]');
    await page.click('#spa');
    assert.equal(new URL(page.url()).pathname, '/spa/route-1');
    const expected = name === 'iOS' ? `${base}/` : `${base}/spa/route-1?tab=1`;
    assert.equal(await page.evaluate(() => wxmp.signingUrl()), expected);
    await page.click('#configure');
    await page.waitForSelector('#jssdk[data-state="ready"]');
    // The other platform's URL must fail here: the check is real.
    const wrong = name === 'iOS' ? `${base}/spa/route-1?tab=1` : `${base}/`;
    const errMsg = await page.evaluate(async (url) => {
      const c = await (await fetch('/jssdk/config?url=' + encodeURIComponent(url))).json();
      return new Promise((resolve) => {
        wx.config({ appId: c.appId, timestamp: c.timestamp, nonceStr: c.nonceStr, signature: c.signature, jsApiList: [] });
        wx.ready(() => resolve('ready'));
        wx.error((e) => resolve(e.errMsg));
      });
    }, wrong);
    assert.equal(errMsg, 'config:invalid signature');
    await page.screenshot({ path: path.join(shots, `jssdk-ready-${name}.png`) });
    await context.close();
  });
}

test('logout ends the session', async () => {
  const { context, page } = await phone();
  await loginWithProfile(page);
  await page.click('#logout');
  await page.waitForSelector('#logged-out', { state: 'visible' });
  const status = await page.evaluate(async () => (await fetch('/api/me')).status);
  assert.equal(status, 401);
  await context.close();
});

test('a tampered wx.config is refused by the JS-SDK and the error is shown', async () => {
  const { context, page } = await phone();
  await page.route('**/jssdk/config?**', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.signature = body.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await route.fulfill({ response, json: body });
  });
  await page.goto(`${base}/`);
  await page.click('#configure');
  await page.waitForSelector('#jssdk[data-state="error"]');
  assert.match(await page.textContent('#error'), /invalid signature/);
  await page.screenshot({ path: path.join(shots, 'jssdk-tampered.png') });
  await context.close();
});

test('refusing consent shows the error and cleans the address bar', async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/`);
  await page.click('#login-userinfo');
  await page.waitForSelector('#deny');
  await page.click('#deny');
  await page.waitForSelector('#error.shown');
  assert.match(await page.textContent('#error'), /declined.*\(access_denied\)/);
  assert.equal(page.url(), `${base}/`);
  assert.equal(await page.isVisible('#logged-out'), true);
  await page.screenshot({ path: path.join(shots, 'consent-refused.png') });
  await context.close();
});

test('a snapshot-page login gets no session and says so', async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/`);
  await page.click('#login-userinfo');
  await page.waitForSelector('#allow');
  // As when a page forces snsapi_userinfo on opening: WeChat answers with
  // its snapshot page's virtual user.
  const consent = new URL(page.url());
  consent.searchParams.set('sim_snapshot', '1');
  await page.goto(consent.toString());
  await page.click('#allow');
  await page.waitForSelector('#error.shown');
  assert.match(await page.textContent('#error'), /snapshot.*\(snapshot_user\)/);
  assert.equal(await page.evaluate(() => wxmp.snapshotUser()), true);
  assert.equal(await page.isVisible('#logged-out'), true);
  assert.equal(page.url(), `${base}/`);
  const status = await page.evaluate(async () => (await fetch('/api/me')).status);
  assert.equal(status, 401);
  await page.screenshot({ path: path.join(shots, 'snapshot-user.png') });
  await context.close();
});

test('wxmp.js is served cacheably, as a script and as a module', async () => {
  const r = await fetch(`${base}/wxmp.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/javascript/);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=3600');
  const etag = r.headers.get('etag');
  assert.equal((await fetch(`${base}/wxmp.js`, { headers: { 'if-none-match': etag } })).status, 304);
  const { context, page } = await phone();
  await page.goto(`${base}/`);
  const fromModule = await page.evaluate(async () => (await import('/wxmp.mjs')).signingUrl === window.wxmp.signingUrl);
  assert.equal(fromModule, true);
  await context.close();
});

// The central-control panel (/api/demo/status, demo mode only). The sandbox
// may already hold a token and a ticket from the tests above: whether they
// were fetched there or by the burst, there is exactly one of each.
const DAY_TOKEN = 7200; // the simulator's expires_in

async function panelFigures(page, id) {
  return page.$eval(`#${id}`, (dd) => ({
    age: Number(dd.querySelector('.age')?.textContent),
    left: Number(dd.querySelector('.left')?.textContent),
    refresh: dd.querySelector('.refresh')?.textContent,
    text: dd.textContent,
  }));
}

async function settled(page) {
  await page.waitForSelector('#burst:not([disabled])');
}

async function simCalls(simulator) {
  return (await fetch(`${simulator}/__sim/calls`)).json();
}

test('the central-control panel: 100 signatures at once cost 1 token and 1 ticket fetch, a rejected token exactly one refetch', async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/`);
  await page.waitForSelector('#control:not([hidden])');
  const status = await (await fetch(`${base}/api/demo/status`)).json();
  assert.match(status.simulator, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await page.isVisible('#reject'), true, 'the simulator is there to reject the token');

  await page.click('#burst');
  await settled(page);
  assert.equal(await page.textContent('#tally'), '100 signatures, 1 token fetch, 1 ticket fetch');
  assert.equal(await page.textContent('#control-note'), '100 signatures served.');
  await page.click('#configure');
  await page.waitForSelector('#jssdk[data-state="ready"]');
  await page.waitForFunction(() => document.getElementById('tally').textContent.startsWith('101 '));
  assert.equal(await page.textContent('#tally'), '101 signatures, 1 token fetch, 1 ticket fetch');

  // Ages and time left as WeChat gave them: 7,200 s from the fetch.
  for (const id of ['token', 'ticket']) {
    const f = await panelFigures(page, id);
    assert.ok(Number.isInteger(f.age) && f.age >= 0 && f.age < 600, `${id} age ${f.text}`);
    assert.ok(Number.isInteger(f.left) && f.left <= DAY_TOKEN && f.left > DAY_TOKEN - 600, `${id} left ${f.text}`);
    assert.equal(f.age + f.left, DAY_TOKEN, `${id}: ${f.text}`);
    assert.equal(Number(f.refresh), f.left - 300, `${id} refreshes 5 minutes ahead: ${f.text}`);
    assert.match(f.text, /^age \d+ s · \d+ s left · refresh in \d+ s$/);
  }
  await page.screenshot({ path: path.join(shots, 'central-control.png'), fullPage: true });

  const before = await simCalls(status.simulator);
  await page.click('#reject');
  await settled(page);
  assert.equal(await page.isVisible('#error'), false, await page.textContent('#error'));
  assert.equal(await page.textContent('#tally'), '101 signatures, 2 token fetches, 1 ticket fetch');
  assert.equal(
    await page.textContent('#control-note'),
    'WeChat rejected the token (40001); wxmp fetched a new one and retried: token fetches 1 → 2. The ticket follows on the next signature.',
  );
  const after = await simCalls(status.simulator);
  const delta = (p) => (after[p] || 0) - (before[p] || 0);
  assert.equal(delta('/cgi-bin/getcallbackip'), 2, 'rejected once, retried once');
  assert.equal(delta('/cgi-bin/stable_token') + delta('/cgi-bin/token'), 1, 'exactly one new token');
  assert.equal(delta('/cgi-bin/ticket/getticket'), 0, 'the ticket waits for a signature');
  const token = await panelFigures(page, 'token');
  assert.ok(token.age >= 0 && token.age < 5 && token.age + token.left === DAY_TOKEN, token.text);
  assert.match((await panelFigures(page, 'ticket')).text, /refresh due$/, 'the old token\'s ticket is stale');
  await page.screenshot({ path: path.join(shots, 'central-control-rejected.png'), fullPage: true });

  // The next signature fetches the ticket once, and the JS-SDK accepts it.
  await page.click('#configure');
  await page.waitForSelector('#jssdk[data-state="ready"]');
  await page.waitForFunction(() => document.getElementById('tally').textContent.startsWith('102 '));
  await page.waitForFunction(() => document.getElementById('tally').textContent.endsWith('2 ticket fetches'));
  assert.equal(await page.textContent('#tally'), '102 signatures, 2 token fetches, 2 ticket fetches');
  const last = await simCalls(status.simulator);
  assert.equal((last['/cgi-bin/ticket/getticket'] || 0) - (after['/cgi-bin/ticket/getticket'] || 0), 1, 'one new ticket');
  await context.close();
});

test('the central-control panel polls while the page is visible, not while hidden', async () => {
  const { context, page } = await phone();
  let polls = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/demo/status') polls += 1; });
  await page.goto(`${base}/`);
  await page.waitForSelector('#control:not([hidden])');
  await eventually('two polls', () => polls >= 2, 5000);
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  await new Promise((r) => setTimeout(r, 300)); // a poll already on the wire lands
  const whileHidden = polls;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(polls, whileHidden, 'no polling while hidden');
  await setHidden(false);
  await eventually('polling again', () => polls >= whileHidden + 2, 5000);
  await context.close();
});
