export * from './runc-runtime.js';
