export {
  EngineClient,
  CLIENT_API_VERSION,
  encodeQuery,
  type EngineClientOptions,
  type PingResult,
  type Query,
  type QueryValue,
  type RequestOptions,
  type WaitHandle,
} from './engine-client.js';
export { ERR_CLIENT_CONNECT, ERR_CLIENT_DAEMON_RESPONSE, errorFromResponse, isDaemonResponseError, kindOfStatus } from './errors.js';
export { DEFAULT_HOST, parseDaemonHost, resolveDaemonHost, type DaemonAddress } from './host.js';
export { StreamDemuxer, encodeFrame, type DemuxSinks } from './stdcopy.js';
export { JsonStreamDecoder, readJsonStream } from './json-stream.js';
