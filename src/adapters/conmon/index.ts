export * from './argv.js';
export * from './conmon-monitor.js';
