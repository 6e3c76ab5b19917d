export * from './model.js';
export * from './changes.js';
export * from './archive.js';
