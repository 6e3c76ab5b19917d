export * from './socket-port-reserver.js';
export * from './udp-dns-server.js';
export * from './userland-proxy.js';
