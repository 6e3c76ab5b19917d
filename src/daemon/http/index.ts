export * from './router.js';
export * from './server.js';
export * from './context.js';
export * from './respond.js';
