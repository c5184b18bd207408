/**
 * The V1 WebSocket (`/api/v1/ws`) behind the same shape as REST V2.
 *
 * Wire format: `{"id", "method", "data"}` in, `{"id", "ok": true, "data"}` or
 * `{"id", "ok": false, "error": {"code", "detail"}}` out. V1 has no
 * "consume with DTLS" call, so `consume()` is `createWebRtcTransport` +
 * (with `dtls_parameters`: `connectWebRtcTransport` right away, the same effect
 * as V2's fingerprint-in-consume) + `consume`, answered in V2's shape.
 * Closing the socket closes everything it created, server-side.
 */

import type { types as ms } from 'mediasoup-client';

import type {
  ApiConfig,
  ConnectRequest,
  ConsumeRequest,
  ConsumeResponse,
  IceServerOut,
  RouterCapabilitiesOut,
} from './api-v2';
import { resolveToken } from './api-v2';
import { VasmsApiError, VasmsNetworkError } from './errors';
import type { ViewerApi } from './viewer-api';

interface Pending {
  resolve: (data: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface V1Answer {
  id?: unknown;
  ok?: unknown;
  data?: unknown;
  error?: { code?: unknown; detail?: unknown };
}

/** Status of V1 error codes, so callers can branch on `status` as for REST. */
const STATUS: Record<string, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  stream_not_live: 409,
  already_connected: 409,
  already_consuming: 409,
  conflict: 409,
  payload_too_large: 413,
  invalid_request: 422,
  cannot_consume: 422,
  unknown_method: 400,
  node_unavailable: 503,
  no_node_available: 503,
  unavailable: 503,
  internal: 500,
};

interface V1Transport {
  id: string;
  iceParameters: ms.IceParameters;
  iceCandidates: ms.IceCandidate[];
  dtlsParameters: ms.DtlsParameters;
  iceServers?: IceServerOut[];
}

interface V1Consumer {
  id: string;
  producerId: string;
  kind: ms.MediaKind;
  rtpParameters: ms.RtpParameters;
}

export function v1SocketUrl(config: ApiConfig, clientId: string): string {
  const base = config.baseUrl.replace(/\/+$/, '') || window.location.origin;
  const url = new URL(base + '/api/v1/ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = resolveToken(config);
  if (token) url.searchParams.set('token', token);
  url.searchParams.set('clientId', clientId);
  return url.toString();
}

export class V1Client implements ViewerApi {
  readonly protocol = 'v1' as const;
  readonly url: string;
  private socket: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;
  private readonly closeListeners = new Set<(code: number, reason: string) => void>();
  private closedByUs = false;

  constructor(config: ApiConfig, clientId: string) {
    this.url = v1SocketUrl(config, clientId);
    this.timeoutMs = config.timeoutMs ?? 10_000;
  }

  /** Called once when the socket closes for any reason but `close()`. */
  onClose(listener: (code: number, reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket (once); a refused handshake is a `VasmsNetworkError`. */
  open(): Promise<WebSocket> {
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket>((resolve, reject) => {
      let settled = false;
      const socket = new WebSocket(this.url);
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.close();
        reject(new VasmsNetworkError('v1', 'V1 socket: handshake timed out'));
      }, this.timeoutMs);
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.socket = socket;
        resolve(socket);
      };
      socket.onmessage = (event: MessageEvent) => this.onMessage(event.data);
      socket.onclose = (event: CloseEvent) => {
        clearTimeout(timer);
        const error =
          event.code === 4401
            ? new VasmsApiError('v1', 401, 'unauthorized', 'V1 socket refused the token')
            : new VasmsNetworkError('v1', `V1 socket closed (${event.code} ${event.reason})`);
        if (!settled) {
          settled = true;
          reject(error);
        }
        this.failPending(error);
        this.socket = null;
        if (!this.closedByUs) {
          for (const listener of this.closeListeners) listener(event.code, event.reason);
        }
        this.closeListeners.clear();
      };
    });
    return this.opening;
  }

  /** One request/answer exchange. */
  async call<T>(method: string, data: Record<string, unknown>): Promise<T> {
    const socket = await this.open();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VasmsNetworkError('v1', `V1 ${method}: no answer in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: (d) => resolve(d as T), reject, timer });
      socket.send(JSON.stringify({ id, method, data }));
    });
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let message: V1Answer;
    try {
      message = JSON.parse(raw) as V1Answer;
    } catch {
      return;
    }
    if (typeof message.id !== 'number') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok === true) {
      pending.resolve((message.data ?? {}) as Record<string, unknown>);
      return;
    }
    const code = typeof message.error?.code === 'string' ? message.error.code : 'error';
    const detail = typeof message.error?.detail === 'string' ? message.error.detail : code;
    pending.reject(new VasmsApiError('v1', STATUS[code] ?? 400, code, detail));
  }

  private failPending(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }

  async getRouterCapabilities(streamId: string): Promise<RouterCapabilitiesOut> {
    const caps = await this.call<ms.RtpCapabilities>('getRouterRtpCapabilities', { streamId });
    return { rtp_capabilities: caps };
  }

  async consume(streamId: string, body: ConsumeRequest): Promise<ConsumeResponse> {
    const t = await this.call<V1Transport>('createWebRtcTransport', { streamId });
    let connected = false;
    if (body.dtls_parameters) {
      await this.call('connectWebRtcTransport', {
        transportId: t.id,
        dtlsParameters: body.dtls_parameters,
      });
      connected = true;
    }
    const c = await this.call<V1Consumer>('consume', {
      transportId: t.id,
      streamId,
      rtpCapabilities: body.rtp_capabilities,
      kind: 'video',
    });
    const audio = body.audio === false ? null : await this.consumeAudio(t.id, streamId, body);
    return {
      consumer_id: c.id,
      producer_id: c.producerId,
      stream_id: streamId,
      kind: c.kind,
      rtp_parameters: c.rtpParameters,
      transport: {
        id: t.id,
        ice_parameters: t.iceParameters,
        ice_candidates: t.iceCandidates,
        dtls_parameters: t.dtlsParameters,
      },
      connected,
      paused: false,
      ice_servers: t.iceServers ?? [],
      audio: audio && {
        consumer_id: audio.id,
        producer_id: audio.producerId,
        kind: 'audio',
        rtp_parameters: audio.rtpParameters,
      },
    };
  }

  /**
   * The transport's audio consumer (`consume` with `kind: "audio"`); null when the stream
   * has none or the capabilities cannot receive it (`cannot_consume`). V1 has no stream
   * description to ask first, so the answer itself tells.
   */
  private async consumeAudio(
    transportId: string,
    streamId: string,
    body: ConsumeRequest,
  ): Promise<V1Consumer | null> {
    try {
      return await this.call<V1Consumer>('consume', {
        transportId,
        streamId,
        rtpCapabilities: body.rtp_capabilities,
        kind: 'audio',
      });
    } catch (error) {
      if (error instanceof VasmsApiError && error.code === 'cannot_consume') return null;
      throw error;
    }
  }

  async connectTransport(transportId: string, body: ConnectRequest): Promise<void> {
    await this.call('connectWebRtcTransport', {
      transportId,
      dtlsParameters: body.dtls_parameters,
    });
  }

  async resumeConsumer(consumerId: string): Promise<void> {
    await this.call('resume', { consumerId });
  }

  async detachConsumer(consumerId: string, opts: { keepalive?: boolean } = {}): Promise<void> {
    if (opts.keepalive || !this.isOpen) {
      // The page is going away (or the socket is gone): closing the socket closes it all.
      this.close();
      return;
    }
    try {
      await this.call('closeConsumer', { consumerId });
    } catch (error) {
      if (error instanceof VasmsApiError && error.status === 404) return;
      throw error;
    }
  }

  close(): void {
    this.closedByUs = true;
    this.closeListeners.clear();
    this.failPending(new VasmsNetworkError('v1', 'V1 socket closed by the client'));
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, 'detach');
    else if (!socket && this.opening) {
      this.opening.then((s) => s.close(1000, 'detach')).catch(() => undefined);
    }
  }
}
