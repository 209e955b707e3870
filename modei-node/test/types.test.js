'use strict';
// index.d.ts must type the whole API: `tsc --noEmit` (strict) on example code using it.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

test('tsc --noEmit accepts the example against index.d.ts', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', path.join(__dirname, 'types')], { encoding: 'utf8' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});

test('tsc rejects a misuse (the declarations are not `any`)', () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modei-ts-'));
  fs.writeFileSync(path.join(dir, 'bad.ts'), "import { canonicalize, Verifier } from 'modei-core';\nconst n: number = canonicalize('{}');\nnew Verifier().verify(42);\n");
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2022', 'dom'], types: [],
      paths: { 'modei-core': [path.join(__dirname, '..', 'index.d.ts')] } },
    files: ['bad.ts'],
  }));
  const tsc = require.resolve('typescript/bin/tsc');
  let out = '';
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', dir], { encoding: 'utf8' });
  } catch (e) {
    out = e.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.match(out, /TS2322/);
  assert.match(out, /TS2345/);
});
