export * from './cidr.js';
export * from './ipam.js';
export * from './port-bindings.js';
export * from './dns-message.js';
export * from './model.js';
