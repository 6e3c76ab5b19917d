export * from './model.js';
export * from './changes.js';
