// The web build (pkg-web/) under Node: init with the bytes, since Node's fetch cannot read
// file: URLs (pitfall W5).
import test from 'node:test';
import { readFileSync } from 'node:fs';
import * as m from '../pkg-web/index.mjs';
import { checks } from '../www/checks.mjs';

m.initSync({ module: readFileSync(new URL('../pkg-web/modei_wasm_bg.wasm', import.meta.url)) });

for (const [name, fn] of Object.entries(checks)) test(`pkg-web: ${name}`, () => fn(m));
