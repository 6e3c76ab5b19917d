export * from './file-log-reader.js';
