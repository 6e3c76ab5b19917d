export * from './atomic.js';
export * from './dir-size.js';
