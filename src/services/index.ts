export * from './containers.js';
export * from './exec.js';
export * from './images.js';
export * from './events.js';
export * from './registry-pull.js';
export * from './registry-push.js';
