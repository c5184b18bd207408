/**
 * Errors of the VAS-MS client library.
 *
 * Every failure of a server call is one of two classes: `VasmsApiError` (the
 * server answered with an error body `{detail, code}`, REST or V1 WebSocket)
 * or `VasmsNetworkError` (no answer: connection refused, timeout, socket
 * closed). The player branches on them to decide between "fall back to V1",
 * "retry with backoff", "wait for the stream" and "give up".
 */

export type Protocol = 'v2' | 'v1';

/** The server answered with an error (`{"detail", "code"}` in both protocols). */
export class VasmsApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly protocol: Protocol;

  constructor(protocol: Protocol, status: number, code: string, detail: string) {
    super(`${protocol.toUpperCase()} ${status} ${code}: ${detail}`);
    this.name = 'VasmsApiError';
    this.protocol = protocol;
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** The server could not be reached (or did not answer in time, or the socket closed). */
export class VasmsNetworkError extends Error {
  readonly protocol: Protocol;

  constructor(protocol: Protocol, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VasmsNetworkError';
    this.protocol = protocol;
  }
}

/**
 * ICE could not complete: no candidate pair between the browser and the media
 * node worked within the player's `iceTimeoutMs` (the network blocks UDP or the
 * node's ports, and no TURN route got through). Not retried: the network will
 * not change by itself; the fix is TURN (`VASMS_TURN_URLS`) or another network.
 */
export class VasmsIceError extends Error {
  readonly code = 'ice_failed';
  /** The TURN URLs the peer connection was given (empty: none offered). */
  readonly turnUrls: string[];
  readonly timeoutMs: number;

  constructor(message: string, turnUrls: string[], timeoutMs: number) {
    super(message);
    this.name = 'VasmsIceError';
    this.turnUrls = turnUrls;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * True when REST V2 itself is missing rather than the thing asked for: the
 * server has no such route (`VASMS_ENABLE_V2=false` answers the framework's
 * generic 404 "not found", whereas an unknown id answers "stream … not found"),
 * answers 405/501, or cannot be reached at all.
 */
export function isV2Unavailable(error: unknown): boolean {
  if (error instanceof VasmsNetworkError) return error.protocol === 'v2';
  if (!(error instanceof VasmsApiError) || error.protocol !== 'v2') return false;
  if (error.status === 405 || error.status === 501) return true;
  return error.status === 404 && error.detail.trim().toLowerCase() === 'not found';
}

/** Errors worth retrying later with the same parameters (the stream or node may come back). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof VasmsNetworkError) return true;
  if (error instanceof VasmsApiError) {
    return error.status === 409 || error.status === 429 || error.status >= 500;
  }
  return false;
}

/** The stream exists but is not live (yet, or any more): wait for it. */
export function isNotLive(error: unknown): boolean {
  return error instanceof VasmsApiError && error.code === 'stream_not_live';
}
