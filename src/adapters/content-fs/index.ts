export * from './fs-content-store.js';
