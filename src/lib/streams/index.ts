export * from './tee.js';
export * from './coalesce.js';
