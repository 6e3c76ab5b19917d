export * from './k8s-file.js';
