export * from './reference.js';
export * from './signals.js';
export * from './filters.js';
export * from './version.js';
export type * from './types.js';
export * from './dockerignore.js';
export * from './build-manifest.js';
