// pkg-node/index.mjs: the Node build needs no initialisation.
export * from './api.mjs';
