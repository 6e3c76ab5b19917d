export * from './spec.js';
export * from './user.js';
