// Types of pkg-*/index.mjs: the same API as modei-node (api.d.ts is modei-node/api.d.ts, copied
// by build.sh). pkg-web also exports `default` (async init) and `initSync` from wasm-bindgen.
export * from './api';
