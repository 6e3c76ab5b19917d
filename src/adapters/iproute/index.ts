export * from './iproute-network-driver.js';
