// The nodejs build (pkg-node/, CommonJS glue behind the ESM wrapper) under Node.
import test from 'node:test';
import * as m from '../pkg-node/index.mjs';
import { checks } from '../www/checks.mjs';

for (const [name, fn] of Object.entries(checks)) test(`pkg-node: ${name}`, () => fn(m));
