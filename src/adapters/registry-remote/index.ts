export { HttpRegistryRemote, parseChallenge, registryErrorText, MANIFEST_TYPES, type HttpRegistryRemoteOptions } from './http-registry-remote.js';
export { JsonBlobDigestMap } from './json-blob-digest-map.js';
