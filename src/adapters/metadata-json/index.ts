export * from './json-stores.js';
