// Real-browser test: serves modei-wasm/ on 127.0.0.1, opens www/index.html in Debian's Chromium
// through playwright-core (fresh user-data-dir), waits for the page's checks, prints them, saves a
// screenshot to a temp path and exits non-zero unless the page reports RESULT: PASS.
// Usage: node www/browser-test.mjs   (CHROMIUM=/path/to/chromium to override /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
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
  await page.goto(`${base}www/index.html`);
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 60000 });
  const text = await page.textContent('#out');
  console.log(text);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  code = /^RESULT: PASS \d+\/\d+$/m.test(text) ? 0 : 1;
} catch (e) {
  console.error(e);
} finally {
  if (context) await context.close();
  server.kill();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
