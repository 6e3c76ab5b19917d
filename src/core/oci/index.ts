export * from './spec.js';
export * from './user.js';
export * from './host.js';
export * from './seccomp.js';
export * from './seccomp-default.js';
export * from './resources.js';
export * from './security.js';
export * from './hostconfig.js';
