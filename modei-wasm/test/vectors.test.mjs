// The shared vector suite (testvectors/js/suite.mjs) through both wasm builds under Node.
import test from 'node:test';
import { readFileSync } from 'node:fs';
import * as node from '../pkg-node/index.mjs';
import * as web from '../pkg-web/index.mjs';
import { registerSuite } from '../../testvectors/js/node-runner.mjs';

web.initSync({ module: readFileSync(new URL('../pkg-web/modei_wasm_bg.wasm', import.meta.url)) });
registerSuite(test, node, 'wasm pkg-node');
registerSuite(test, web, 'wasm pkg-web');
