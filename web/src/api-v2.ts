/**
 * REST V2 of the VAS-MS control API, one function per route, typed after the
 * contract in docs (ARCHITECTURE.md "REST V2 contract"). Bodies keep the
 * server's snake_case names; RTP and DTLS structures are mediasoup's own
 * (camelCase) and pass straight into mediasoup-client.
 */

import type { types as ms } from 'mediasoup-client';

import { VasmsApiError, VasmsNetworkError } from './errors';

// ---------------------------------------------------------------------------
// Bodies

/** `idle`: on demand, not pulled until the next viewer (placed and started by its consume). */
export type StreamStatus = 'created' | 'starting' | 'live' | 'stopped' | 'error' | 'idle';

/** Pulled sources may be pulled only while watched (`preload` keeps them pulled anyway). */
export interface OnDemand {
  on_demand?: boolean;
  preload?: boolean;
}

export type StreamSource =
  | ({
      type: 'rtsp';
      url: string;
      transcode?: 'auto' | boolean;
      /** Passthrough cameras: a joining viewer starts on a bridge picture at once
       * instead of waiting for the camera's next key frame (default true). */
      fast_start?: boolean;
    } & OnDemand)
  | { type: 'rtp' }
  | ({
      type: 'test_pattern';
      width?: number | null;
      height?: number | null;
      fps?: number | null;
      keyframe_interval_s?: number | null;
    } & OnDemand);

/** `GET /api/v2/streams/{id}` */
export interface StreamOut {
  id: string;
  name: string;
  status: StreamStatus;
  status_reason: string;
  source: StreamSource & Record<string, unknown>;
  codec: string | null;
  node_id: string | null;
  producer_id: string | null;
  consumer_count: number;
  /** Operators only (it carries the sender's SRTP key); null for viewers. */
  rtp_endpoint: Record<string, unknown> | null;
  /** What viewers receive; sizes null when the node does not know them. */
  video?: { codec: string; width: number | null; height: number | null } | null;
  audio?: { codec: string } | null;
  created_at: string;
  updated_at: string;
}

/** `POST /api/v2/streams` */
export interface StreamCreate {
  name: string;
  source: StreamSource;
  codec?: 'vp8' | 'h264';
}

/** `POST /api/v2/auth/token` */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

/** `GET /api/v2/streams/{id}/router-capabilities` */
export interface RouterCapabilitiesOut {
  rtp_capabilities: ms.RtpCapabilities;
}

/** The viewer's DTLS parameters: the fingerprint of its pre-generated certificate. */
export interface ClientDtlsParameters {
  role: 'client';
  fingerprints: ms.DtlsFingerprint[];
}

/** `POST /api/v2/streams/{id}/consume` body */
export interface ConsumeRequest {
  client_id: string;
  rtp_capabilities: ms.RtpCapabilities;
  /** With them the server connects the transport at once: no `/connect` call. */
  dtls_parameters?: ClientDtlsParameters;
  /** Start paused (default false: media flows as soon as DTLS connects). */
  paused?: boolean;
  /** false: video only, even when the stream has audio (default true). */
  audio?: boolean;
}

/** The server side of the receive transport. */
export interface TransportOut {
  id: string;
  ice_parameters: ms.IceParameters;
  ice_candidates: ms.IceCandidate[];
  dtls_parameters: ms.DtlsParameters;
}

/** `POST /api/v2/streams/{id}/consume` answer (201) */
export interface ConsumeResponse {
  consumer_id: string;
  producer_id: string;
  stream_id: string;
  kind: ms.MediaKind;
  rtp_parameters: ms.RtpParameters;
  transport: TransportOut;
  /** True when `dtls_parameters` were sent and the server connected the transport. */
  connected: boolean;
  paused: boolean;
  /** TURN servers with short-lived credentials (`[]` when the server has no TURN). */
  ice_servers?: IceServerOut[];
  /** The stream's audio on the same transport; null without audio or with `audio: false`. */
  audio?: AudioConsumerOut | null;
}

/** The audio consumer of a consume answer (consume it on the same receive transport). */
export interface AudioConsumerOut {
  consumer_id: string;
  producer_id: string;
  kind: 'audio';
  rtp_parameters: ms.RtpParameters;
}

/** One TURN server of a consume answer, as `RTCIceServer` takes it. */
export interface IceServerOut {
  urls: string[];
  username: string;
  credential: string;
}

/** `POST /api/v2/transports/{id}/connect` body */
export interface ConnectRequest {
  dtls_parameters: ms.DtlsParameters;
}

export type ConsumerState = 'new' | 'connecting' | 'connected' | 'closed';

/** `GET /api/v2/consumers/{id}` */
export interface ConsumerOut {
  id: string;
  stream_id: string;
  transport_id: string;
  producer_id: string;
  kind: string;
  state: ConsumerState;
  closed_reason: string | null;
  client_id: string;
  paused: boolean;
  created_at: string;
  stats: { bitrate: number; packets_sent: number; packets_lost: number; score: number };
}

// ---------------------------------------------------------------------------
// Calls

/** Where the API is and how to authenticate; `token` may be a getter (refreshed tokens). */
export interface ApiConfig {
  /** Origin (and optional path prefix) of the control API; '' for the page's own origin. */
  baseUrl: string;
  token?: string | null | (() => string | null | undefined);
  /** Per-request timeout, default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface CallOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  form?: URLSearchParams;
  keepalive?: boolean;
  auth?: boolean;
}

export function resolveToken(config: ApiConfig): string | null {
  const t = typeof config.token === 'function' ? config.token() : config.token;
  return t ?? null;
}

export function apiUrl(config: ApiConfig, path: string): string {
  return config.baseUrl.replace(/\/+$/, '') + path;
}

/** One REST call: JSON in and out, `{detail, code}` errors as `VasmsApiError`. */
export async function request<T>(
  config: ApiConfig,
  path: string,
  opts: CallOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = opts.auth === false ? null : resolveToken(config);
  if (token) headers['authorization'] = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (opts.form) {
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.timeoutMs ?? 10_000);
  const doFetch = config.fetch ?? globalThis.fetch.bind(globalThis);
  let response: Response;
  try {
    response = await doFetch(apiUrl(config, path), {
      method: opts.method ?? 'GET',
      headers,
      body: body ?? null,
      keepalive: opts.keepalive ?? false,
      signal: controller.signal,
      credentials: 'omit',
    });
  } catch (error) {
    throw new VasmsNetworkError('v2', `${opts.method ?? 'GET'} ${path}: ${String(error)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text().catch(() => '');
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const err = (parsed ?? {}) as { detail?: unknown; code?: unknown };
    throw new VasmsApiError(
      'v2',
      response.status,
      typeof err.code === 'string' ? err.code : `http_${response.status}`,
      typeof err.detail === 'string' ? err.detail : response.statusText || text.slice(0, 200),
    );
  }
  return parsed as T;
}

const enc = encodeURIComponent;

/** `POST /api/v2/auth/token` (form, like the OAuth2 password grant). */
export function signIn(
  config: ApiConfig,
  username: string,
  password: string,
): Promise<TokenResponse> {
  const form = new URLSearchParams({ username, password });
  return request(config, '/api/v2/auth/token', { method: 'POST', form, auth: false });
}

export function listStreams(config: ApiConfig): Promise<StreamOut[]> {
  return request(config, '/api/v2/streams');
}

export function getStream(config: ApiConfig, streamId: string): Promise<StreamOut> {
  return request(config, `/api/v2/streams/${enc(streamId)}`);
}

/** Operator: create a stream (created state; `startStream` places it on a node). */
export function createStream(config: ApiConfig, body: StreamCreate): Promise<StreamOut> {
  return request(config, '/api/v2/streams', { method: 'POST', body });
}

export function startStream(config: ApiConfig, streamId: string): Promise<StreamOut> {
  return request(config, `/api/v2/streams/${enc(streamId)}/start`, { method: 'POST' });
}

export function stopStream(config: ApiConfig, streamId: string): Promise<StreamOut> {
  return request(config, `/api/v2/streams/${enc(streamId)}/stop`, { method: 'POST' });
}

/** Operator: delete a stopped stream. */
export function deleteStream(config: ApiConfig, streamId: string): Promise<void> {
  return request(config, `/api/v2/streams/${enc(streamId)}`, { method: 'DELETE' });
}

/**
 * `GET /api/v2/streams/{id}/snapshot.jpg`: the JPEG of the latest key frame (`width`
 * scales, aspect kept). 409 `stream_not_live` when the stream is not live.
 */
export async function fetchSnapshot(
  config: ApiConfig,
  streamId: string,
  width?: number,
): Promise<Blob> {
  const query = width ? `?width=${width}` : '';
  const headers: Record<string, string> = { accept: 'image/jpeg' };
  const token = resolveToken(config);
  if (token) headers['authorization'] = `Bearer ${token}`;
  const doFetch = config.fetch ?? globalThis.fetch.bind(globalThis);
  const path = `/api/v2/streams/${enc(streamId)}/snapshot.jpg${query}`;
  let response: Response;
  try {
    response = await doFetch(apiUrl(config, path), { headers, credentials: 'omit' });
  } catch (error) {
    throw new VasmsNetworkError('v2', `GET ${path}: ${String(error)}`, { cause: error });
  }
  if (!response.ok) {
    const err = (await response.json().catch(() => ({}))) as { detail?: unknown; code?: unknown };
    throw new VasmsApiError(
      'v2',
      response.status,
      typeof err.code === 'string' ? err.code : `http_${response.status}`,
      typeof err.detail === 'string' ? err.detail : response.statusText,
    );
  }
  return response.blob();
}

export function getRouterCapabilities(
  config: ApiConfig,
  streamId: string,
): Promise<RouterCapabilitiesOut> {
  return request(config, `/api/v2/streams/${enc(streamId)}/router-capabilities`);
}

export function consume(
  config: ApiConfig,
  streamId: string,
  body: ConsumeRequest,
): Promise<ConsumeResponse> {
  return request(config, `/api/v2/streams/${enc(streamId)}/consume`, { method: 'POST', body });
}

export function connectTransport(
  config: ApiConfig,
  transportId: string,
  body: ConnectRequest,
): Promise<void> {
  return request(config, `/api/v2/transports/${enc(transportId)}/connect`, {
    method: 'POST',
    body,
  });
}

export function resumeConsumer(config: ApiConfig, consumerId: string): Promise<void> {
  return request(config, `/api/v2/consumers/${enc(consumerId)}/resume`, { method: 'POST' });
}

export function getConsumer(config: ApiConfig, consumerId: string): Promise<ConsumerOut> {
  return request(config, `/api/v2/consumers/${enc(consumerId)}`);
}

/**
 * `DELETE /api/v2/consumers/{id}`: closes the consumer and its transport.
 * A consumer already gone (404) counts as detached. `keepalive` lets the
 * request outlive the page (pagehide).
 */
export async function detachConsumer(
  config: ApiConfig,
  consumerId: string,
  opts: { keepalive?: boolean } = {},
): Promise<void> {
  try {
    await request<void>(config, `/api/v2/consumers/${enc(consumerId)}`, {
      method: 'DELETE',
      keepalive: opts.keepalive ?? false,
    });
  } catch (error) {
    if (error instanceof VasmsApiError && error.status === 404) return;
    throw error;
  }
}
