export * from './containers.js';
export * from './images.js';
export * from './networks.js';
