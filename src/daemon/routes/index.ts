export * from './containers.js';
export * from './exec.js';
export * from './networks.js';
export * from './images.js';
export * from './system.js';
export * from './registry.js';
export * from './image-exchange.js';
export * from './container-files.js';
