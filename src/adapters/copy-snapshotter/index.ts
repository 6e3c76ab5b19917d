export * from './copy-snapshotter.js';
