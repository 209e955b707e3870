// WASM benchmark under Node: passport JWT verify and attestation-log verify per record, through
// the wasm build (pkg-node), the native addon (modei-node) and jose, in one run.
//
//   modei-wasm/build.sh --release && (cd modei-node && npm run build:release)
//   cd modei-wasm/bench && npm install && node bench.mjs
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import * as jose from 'jose';
import * as wasm from '../pkg-node/index.mjs';
import { runBench } from './cases.mjs';
import { table } from '../../modei-node/bench/harness.mjs';

const native = createRequire(import.meta.url)('../../modei-node');

export function attestationLog() {
  const dir = new URL('../../testvectors/attestation/', import.meta.url);
  const text = readFileSync(new URL('chain_valid.jsonl', dir), 'utf8');
  const k = JSON.parse(readFileSync(new URL('keys.json', dir), 'utf8'));
  return { text, records: text.split('\n').filter(Boolean).length, gateKeys: [{ gate_id: k.gate_id, key_id: k.key_id, public_key: k.public_key }] };
}

const rows = await runBench({
  impls: [{ name: 'modei-wasm', m: wasm }, { name: 'modei-core native', m: native }],
  jose,
  log: attestationLog(),
});
console.log(`Node ${process.version}; modei-wasm ${wasm.version()}`);
console.log(table(rows, 'modei-core native: passport JWT verify'));
