/**
 * HTTP status → error kind for daemon error responses (moby client's httpErrorFromStatusCode,
 * containerd errhttp.ToNative). The message is the daemon's `{"message"}` text, unchanged.
 */
import { EngineError, type ErrorKind } from '../lib/errdefs.js';

/** code of errors that carry a daemon response: the CLI prefixes "Error response from daemon: " */
export const ERR_CLIENT_DAEMON_RESPONSE = 'ERR_CLIENT_DAEMON_RESPONSE';
/** code of errors raised when the daemon cannot be reached */
export const ERR_CLIENT_CONNECT = 'ERR_CLIENT_CONNECT';

export function kindOfStatus(status: number): ErrorKind {
  switch (status) {
    case 304:
      return 'not-modified';
    case 400:
      return 'invalid-argument';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'permission-denied';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    case 412:
      return 'failed-precondition';
    case 501:
      return 'not-implemented';
    case 503:
      return 'unavailable';
    default:
      return 'internal';
  }
}

/** Builds the error for a non-2xx response body, as the Go client reads it. */
export function errorFromResponse(opts: {
  status: number;
  statusText: string;
  contentType: string | undefined;
  body: string;
  url: string;
}): EngineError {
  let message: string;
  if (opts.body.length === 0) {
    message = `request returned ${opts.status} ${opts.statusText} for API route and version ${opts.url}, check if the server supports the requested API version`;
  } else if (opts.contentType === 'application/json') {
    try {
      const parsed = JSON.parse(opts.body) as { message?: unknown };
      message = typeof parsed.message === 'string' ? parsed.message : opts.body.trim();
    } catch {
      message = `Error reading JSON: ${opts.body.trim()}`;
    }
  } else {
    message = opts.body.trim();
  }
  return new EngineError(kindOfStatus(opts.status), message, { code: ERR_CLIENT_DAEMON_RESPONSE });
}

export const isDaemonResponseError = (e: unknown): e is EngineError =>
  e instanceof EngineError && e.code === ERR_CLIENT_DAEMON_RESPONSE;
