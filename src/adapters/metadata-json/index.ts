export * from './json-stores.js';
export * from './json-network-store.js';
