export * from './overlay-snapshotter.js';
