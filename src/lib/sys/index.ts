export * from './libc.js';
