export * from './containers.js';
export * from './images.js';
