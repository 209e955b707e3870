// The shared vector suite (testvectors/js/suite.mjs) through the native addon.
import test from 'node:test';
import { createRequire } from 'node:module';
import { registerSuite } from '../../testvectors/js/node-runner.mjs';

const m = createRequire(import.meta.url)('..');
registerSuite(test, m, 'node');
