// Real-browser test: serves modei-wasm/ on 127.0.0.1, opens www/index.html in Debian's Chromium
// through playwright-core (fresh user-data-dir), waits for the page's checks, prints them, saves a
// screenshot to a temp path and exits non-zero unless the page reports RESULT: PASS.
// Usage: node www/browser-test.mjs   (CHROMIUM=/path/to/chromium to override /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// Serve the repository root: the page imports testvectors/js/suite.mjs and fetches the vectors.
const root = path.resolve(here, '../..');
const server = spawn(process.execPath, [path.join(here, 'serve.mjs'), root, '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((resolve, reject) => {
  server.stdout.once('data', (d) => resolve(String(d).trim()));
  server.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
});
const userDataDir = mkdtempSync(path.join(tmpdir(), 'modei-chromium-'));
const shot = path.join(tmpdir(), `modei-wasm-browser-${process.pid}.png`);
let code = 1;
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (msg) => console.log('[browser]', msg.text()));
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
  await page.goto(`${base}modei-wasm/www/index.html`);
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 60000 });
  const text = await page.textContent('#out');
  console.log(text);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  let ok = /^RESULT: PASS \d+\/\d+$/m.test(text);

  // The demo page: pre-filled from testvectors/, verified in the page; screenshots must show a
  // rendered page (non-trivial PNGs) with the expected verdicts.
  const shots = mkdtempSync(path.join(tmpdir(), 'modei-demo-'));
  for (const [sample, verdict, chain] of [['jwt', 'verified', 'ok'], ['jwt-tampered', 'verified', 'broken'], ['envelope', 'verified', 'none'], ['expired', 'passport_expired', 'none']]) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${base}modei-wasm/www/demo.html?sample=${sample}`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60000 });
    const got = await page.getAttribute('#verdict', 'data-verdict');
    const state = (await page.getAttribute('#chain', 'data-state')) ?? 'none';
    const png = path.join(shots, `demo-${sample}.png`);
    await page.screenshot({ path: png, fullPage: true });
    const size = statSync(png).size;
    const good = got === verdict && state === chain && size > 30000;
    console.log(`${good ? 'ok  ' : 'FAIL'} demo ${sample}: verdict=${got} chain=${state} screenshot ${png} (${size} bytes)`);
    ok = ok && good;
  }
  code = ok ? 0 : 1;
} catch (e) {
  console.error(e);
} finally {
  if (context) await context.close();
  server.kill();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
