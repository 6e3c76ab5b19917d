export * from './model.js';
export * from './names.js';
export * from './status-text.js';
export * from './restart-policy.js';
export * from './health.js';
export * from './log-config.js';
export * from './mounts.js';
