export * from './tee.js';
