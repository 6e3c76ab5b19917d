export * from './libc.js';
export * from './userns.js';
