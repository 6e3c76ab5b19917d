export * from './remapped-root.js';
