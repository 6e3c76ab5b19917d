export { createRegistryHandler, type RegistryServerOptions } from './server.js';
export { RegistryStorage } from './storage.js';
export { HtpasswdAuth } from './htpasswd.js';
