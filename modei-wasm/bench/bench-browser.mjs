// Runs bench.html in Debian's Chromium (playwright-core) and prints its table.
//   modei-wasm/build.sh --release && cd modei-wasm/bench && npm install && node bench-browser.mjs
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const server = spawn(process.execPath, [path.join(here, '../www/serve.mjs'), root, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim())));
const dir = mkdtempSync(path.join(tmpdir(), 'modei-bench-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
  await page.goto(`${base}modei-wasm/bench/bench.html`);
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 300000 });
  console.log(await page.textContent('#out'));
} finally {
  if (ctx) await ctx.close();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}
