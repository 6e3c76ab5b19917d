export * from './local-volume-driver.js';
