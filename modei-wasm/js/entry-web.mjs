// pkg-web/index.mjs: call `await init()` (browser) or `initSync({ module: bytes })` first.
export * from './api.mjs';
export { default, initSync } from './modei_wasm.js';
