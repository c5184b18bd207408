/**
 * VasmsPlayer: plays one VAS-MS stream in a <video> element.
 *
 *   const player = new VasmsPlayer({ apiBase: '', token });
 *   player.on('stats', (s) => console.log(s.width, s.fps, s.bitrateKbps));
 *   await player.attach(videoElement, streamId);   // resolves at the first frame
 *   ...
 *   await player.detach();
 *
 * - Signalling: REST V2; falls back to the V1 WebSocket when V2 is
 *   unavailable (the V2 routes answer the generic 404, the server cannot be
 *   reached, or `VASMS_ENABLE_V2=false`), and tries V2 again a minute later.
 * - DTLS: a certificate generated up front (ECDSA P-256) whose fingerprint
 *   travels inside `consume`, so the server connects the transport at once and
 *   no `/connect` request is made; the same certificate goes to the peer
 *   connection. Browsers without `generateCertificate` (or a browser that did
 *   not use the certificate) take the `/connect` call from the transport's
 *   `connect` event instead.
 * - Lifetime: detaches on `pagehide` (a keepalive DELETE that outlives the
 *   page), re-attaches with exponential backoff when the transport fails, the
 *   consumer closes server-side or the picture stalls, and waits for a stream
 *   that is not live to come back.
 * - Audio: the stream's audio consumer (the consume answer's `audio`) is consumed on
 *   the same receive transport and played with the video, in the element's one
 *   MediaStream (not lip-synced: see `attemptWith`). Muted by default, so autoplay policies let the page play
 *   without a gesture: `unmute()` / `setMuted(false)` from a click, `muted` event.
 *   `audio: false` asks the server for video only.
 * - Observability: `state`, `stats` (resolution, fps, bitrate, packet loss,
 *   time to first frame, audio bytes) and events.
 */

import { Device } from 'mediasoup-client';
import type { types as ms } from 'mediasoup-client';

import type { ApiConfig, ConsumeResponse } from './api-v2';
import { V1Client } from './api-v1';
import { type PreparedCertificate, sdpFingerprint, sharedDtlsCertificate } from './certificate';
import { Emitter } from './emitter';
import {
  type Protocol,
  VasmsApiError,
  VasmsIceError,
  VasmsNetworkError,
  isNotLive,
  isRetryable,
  isV2Unavailable,
} from './errors';
import { type ViewerApi, restV2 } from './viewer-api';

export type PlayerState =
  /** Not attached. */
  | 'idle'
  /** Signalling and connecting, first frame not yet shown. */
  | 'connecting'
  /** The stream exists but is not live: polling until it is. */
  | 'waiting'
  /** Frames are being shown. */
  | 'playing'
  /** Lost the stream (transport failed, consumer closed, stall): re-attaching after a backoff. */
  | 'reconnecting'
  /** Gave up: an error retrying cannot fix (unknown stream, bad token, unsupported codecs). */
  | 'failed'
  /** `destroy()` was called. */
  | 'closed';

export type ProtocolChoice = 'auto' | Protocol;

/**
 * How the server got the viewer's DTLS parameters:
 * - 'in-consume': V2, the pre-generated certificate's fingerprint inside `consume`;
 * - 'early-connect': V1, the same fingerprint sent by `connectWebRtcTransport` right
 *   after the transport is created (V1 has no consume-with-DTLS message);
 * - 'connect-call': from the transport's `connect` event (no pre-generated certificate).
 */
export type DtlsMode = 'in-consume' | 'early-connect' | 'connect-call';

export interface BackoffOptions {
  /** First delay, default 500 ms. */
  initialMs: number;
  /** Cap, default 15 s. */
  maxMs: number;
  /** Growth per failed attempt, default 2. */
  factor: number;
}

export interface VasmsPlayerOptions {
  /** Origin (+ path prefix) of the control API; default '' (the page's origin). */
  apiBase?: string;
  /** Bearer token (or a getter, for refreshed tokens). */
  token?: ApiConfig['token'];
  /** 'auto' (default): V2, V1 when V2 is unavailable. 'v2' / 'v1' force one. */
  protocol?: ProtocolChoice;
  /** 'auto' (default): fingerprint in consume when the browser can; 'connect': always connect. */
  dtls?: 'auto' | 'connect';
  /** The viewer id sent to the server; default a random `web-…`. */
  clientId?: string;
  /**
   * Starts muted so autoplay policies let the page play without a gesture (default true);
   * `unmute()` / `setMuted(false)` later, from a user gesture.
   */
  muted?: boolean;
  /** Receive the stream's audio when it has some (default true); false sends `audio: false`. */
  audio?: boolean;
  statsIntervalMs?: number;
  /** No new frame for this long while playing: check the consumer, re-attach. Default 5 s. */
  stallTimeoutMs?: number;
  /** Longest wait for the first frame of an attempt (ingest GOPs can be 10 s). Default 25 s. */
  firstFrameTimeoutMs?: number;
  /**
   * Relay-only ICE (`iceTransportPolicy: 'relay'`): media only through the TURN servers of
   * the consume answer. Default false (direct when possible, TURN as a fallback).
   */
  relay?: boolean;
  /**
   * ICE must connect within this after the transport is created, else the player fails
   * with a `VasmsIceError` (state `failed`): the network blocks the path. Default 15 s.
   */
  iceTimeoutMs?: number;
  /** Polling interval while the stream is not live. Default 2 s. */
  waitPollMs?: number;
  /** After falling back to V1, when to try V2 again. Default 60 s. */
  v2RetryAfterMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Detach (keepalive DELETE / socket close) on `pagehide`. Default true. */
  detachOnPageHide?: boolean;
  /** Bound on each REST call. Default 15 s: the first consume of an on-demand camera waits
   * up to the server's start timeout (VASMS_ON_DEMAND_START_TIMEOUT_S, 10 s) for it. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Debug log sink (default: none). */
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

export interface PlayerStats {
  streamId: string | null;
  state: PlayerState;
  protocol: Protocol | null;
  dtls: DtlsMode | null;
  consumerId: string | null;
  transportId: string | null;
  codec: string | null;
  width: number;
  height: number;
  fps: number;
  /** Received bitrate over the last stats interval, kbit/s. */
  bitrateKbps: number;
  packetsReceived: number;
  packetsLost: number;
  /** Loss over the last stats interval, percent. */
  lossPercent: number;
  framesDecoded: number;
  framesDropped: number;
  jitterMs: number;
  /** Start of the attempt that is playing → its first frame, ms. */
  ttffMs: number | null;
  /** `consume` request sent → first frame, ms. */
  consumeToFirstFrameMs: number | null;
  /** Attempts since `attach()` (1 when the first one played). */
  attempts: number;
  /** Re-attaches after playing (transport failure, stall, stream back live). */
  reconnects: number;
  /** The pre-generated certificate's sha-256 fingerprint sent in `consume` (null: not used). */
  certificateFingerprint: string | null;
  /** The fingerprint the peer connection really uses, from its stats. */
  localFingerprint: string | null;
  /** Our side of the selected ICE pair: 'host', 'srflx', 'prflx' or 'relay' (TURN). */
  candidateType: string | null;
  /** With a relay candidate: how the browser reaches TURN ('udp', 'tcp' or 'tls'). */
  relayProtocol: string | null;
  /** TURN URLs of the consume answer given to the peer connection. */
  turnUrls: string[];
  /** Whether this attempt receives the stream's audio (a consumer on the same transport). */
  hasAudio: boolean;
  /** Whether the element is muted (audio received but not heard). */
  muted: boolean;
  audioConsumerId: string | null;
  /** e.g. 'audio/opus', 'audio/PCMA'. */
  audioCodec: string | null;
  audioBytesReceived: number;
  audioPacketsReceived: number;
  audioPacketsLost: number;
  /** Received audio bitrate over the last stats interval, kbit/s. */
  audioBitrateKbps: number;
  lastError: string | null;
}

export interface FirstFrameInfo {
  ttffMs: number;
  consumeToFirstFrameMs: number;
  width: number;
  height: number;
  protocol: Protocol;
  dtls: DtlsMode;
}

export type PlayerEvents = {
  state: [state: PlayerState, previous: PlayerState];
  stats: [stats: PlayerStats];
  firstframe: [info: FirstFrameInfo];
  protocol: [protocol: Protocol];
  error: [error: Error];
  /** The element was muted or unmuted (`setMuted`, or a refused unmute falling back). */
  muted: [muted: boolean];
};

/** One attempt: signalling channel, device, transport and consumer. */
interface Session {
  api: ViewerApi;
  streamId: string;
  startedAt: number;
  consumeAt: number;
  response: ConsumeResponse | null;
  transport: ms.Transport | null;
  consumer: ms.Consumer | null;
  /** The audio consumer on the same transport (null: video only). */
  audioConsumer: ms.Consumer | null;
  dtls: DtlsMode;
  disconnectTimer: ReturnType<typeof setTimeout> | null;
  /** ICE watchdog of the attempt; `iceError` is set when ICE did not complete. */
  iceTimer: ReturnType<typeof setTimeout> | null;
  iceError: VasmsIceError | null;
  everConnected: boolean;
  cleanups: (() => void)[];
  released: boolean;
}

class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

const now = (): number => performance.now();

function randomId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function emptyStats(): PlayerStats {
  return {
    streamId: null,
    state: 'idle',
    protocol: null,
    dtls: null,
    consumerId: null,
    transportId: null,
    codec: null,
    width: 0,
    height: 0,
    fps: 0,
    bitrateKbps: 0,
    packetsReceived: 0,
    packetsLost: 0,
    lossPercent: 0,
    framesDecoded: 0,
    framesDropped: 0,
    jitterMs: 0,
    ttffMs: null,
    consumeToFirstFrameMs: null,
    attempts: 0,
    reconnects: 0,
    certificateFingerprint: null,
    localFingerprint: null,
    candidateType: null,
    relayProtocol: null,
    turnUrls: [],
    hasAudio: false,
    muted: true,
    audioConsumerId: null,
    audioCodec: null,
    audioBytesReceived: 0,
    audioPacketsReceived: 0,
    audioPacketsLost: 0,
    audioBitrateKbps: 0,
    lastError: null,
  };
}

interface Sample {
  at: number;
  audioBytes: number;
  bytes: number;
  packets: number;
  lost: number;
  frames: number;
}

type StatsRecord = Record<string, unknown> & { id: string; type: string };

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export class VasmsPlayer extends Emitter<PlayerEvents> {
  readonly clientId: string;
  private readonly options: VasmsPlayerOptions;
  private readonly config: ApiConfig;
  private readonly backoff: BackoffOptions;
  private _state: PlayerState = 'idle';
  private _stats: PlayerStats = emptyStats();
  private video: HTMLVideoElement | null = null;
  private streamId: string | null = null;
  /** Bumped by attach/detach: every async step checks it is still current. */
  private generation = 0;
  private session: Session | null = null;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private reattachRequested: string | null = null;
  private v2UnavailableUntil = 0;
  private certificateRefused = false;
  private certificate: Promise<PreparedCertificate | null> | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private lastSample: Sample | null = null;
  private lastFrameProgressAt = 0;
  private stallCheckInFlight = false;
  private hiddenByPage = false;
  private _muted: boolean;
  private readonly onPageHide = (event: PageTransitionEvent): void => this.pageHidden(event);
  private readonly onPageShow = (event: PageTransitionEvent): void => this.pageShown(event);

  constructor(options: VasmsPlayerOptions = {}) {
    super();
    this.options = options;
    this.clientId = options.clientId ?? `web-${randomId()}`;
    this.config = {
      baseUrl: options.apiBase ?? '',
      token: options.token ?? null,
      timeoutMs: options.requestTimeoutMs ?? 15_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    this.backoff = { initialMs: 500, maxMs: 15_000, factor: 2, ...options.backoff };
    this._muted = options.muted ?? true;
    // Generate the DTLS certificate now, so it is ready when attach() needs it.
    if ((options.dtls ?? 'auto') === 'auto') this.certificate = sharedDtlsCertificate();
    if ((options.detachOnPageHide ?? true) && typeof window !== 'undefined') {
      window.addEventListener('pagehide', this.onPageHide);
      window.addEventListener('pageshow', this.onPageShow);
    }
  }

  get state(): PlayerState {
    return this._state;
  }

  /** The latest statistics (a copy). */
  get stats(): PlayerStats {
    return { ...this._stats, muted: this._muted };
  }

  /** Whether the element is muted (true until `unmute()`, by default). */
  get muted(): boolean {
    return this._muted;
  }

  /** The received audio track of the playing attempt (null: none, or video only). */
  get audioTrack(): MediaStreamTrack | null {
    const consumer = this.session?.audioConsumer;
    return consumer && !consumer.closed ? consumer.track : null;
  }

  /**
   * Mutes or unmutes the element; the state survives re-attaches and `attach()` of another
   * stream. Call `setMuted(false)` from a user gesture (a click): a browser that still
   * refuses to play sound makes the player mute again (event `muted`: true, then `error`).
   */
  setMuted(muted: boolean): void {
    const changed = muted !== this._muted;
    this._muted = muted;
    this._stats.muted = muted;
    const video = this.video;
    if (video) {
      video.muted = muted;
      if (!muted && video.srcObject) {
        video.play().catch((error: unknown) => {
          if (!(error instanceof DOMException) || error.name !== 'NotAllowedError') return;
          // The autoplay policy wants a gesture for sound: play muted rather than not at all.
          this.setMuted(true);
          video.play().catch(() => undefined);
          this.emit('error', new Error(`unmute refused by the browser: ${error.message}`));
        });
      }
    }
    if (changed) this.emit('muted', muted);
  }

  /** `setMuted(false)`: call it from a user gesture. */
  unmute(): void {
    this.setMuted(false);
  }

  /** `setMuted(true)`. */
  mute(): void {
    this.setMuted(true);
  }

  /**
   * Starts playing `streamId` in `video` (detaching whatever played before).
   * Resolves at the first frame; rejects if the player gives up (`failed`);
   * resolves too if `detach()` comes first.
   */
  attach(video: HTMLVideoElement, streamId: string): Promise<void> {
    this.stop();
    const generation = ++this.generation;
    this.video = video;
    this.streamId = streamId;
    this.hiddenByPage = false;
    this.certificateRefused = false;
    this._stats = { ...emptyStats(), streamId, muted: this._muted };
    video.autoplay = true;
    video.playsInline = true;
    video.muted = this._muted;
    this.setState('connecting');
    const run = this.run(generation);
    this.running = run;
    return new Promise<void>((resolve, reject) => {
      const offFrame = this.on('firstframe', () => {
        cleanup();
        resolve();
      });
      const offState = this.on('state', (state) => {
        if (state === 'failed') {
          cleanup();
          reject(new Error(this._stats.lastError ?? 'player failed'));
        } else if (state === 'idle' || state === 'closed') {
          cleanup();
          resolve();
        }
      });
      const cleanup = (): void => {
        offFrame();
        offState();
      };
    });
  }

  /** Stops playing and releases the consumer server-side. */
  async detach(): Promise<void> {
    const session = this.stop();
    if (this._state !== 'closed') this.setState('idle');
    if (session) await this.release(session, false);
  }

  /** Detaches and removes the page listeners; the player cannot be used afterwards. */
  async destroy(): Promise<void> {
    const session = this.stop();
    window.removeEventListener('pagehide', this.onPageHide);
    window.removeEventListener('pageshow', this.onPageShow);
    this.setState('closed');
    this.removeAllListeners();
    if (session) await this.release(session, false);
  }

  /** Forces a new attempt now (e.g. the app knows the stream is back). */
  reconnect(reason = 'requested'): void {
    this.requestReattach(reason);
  }

  // -------------------------------------------------------------------------
  // The attempt loop

  /** Invalidates the running loop and its session; returns the session to release. */
  private stop(): Session | null {
    this.generation++;
    this.wake?.();
    this.stopStats();
    const session = this.session;
    this.session = null;
    if (session) this.teardown(session);
    if (this.video) this.video.srcObject = null;
    return session;
  }

  private current(generation: number): void {
    if (generation !== this.generation) throw new Cancelled();
  }

  private async run(generation: number): Promise<void> {
    let failures = 0;
    while (generation === this.generation) {
      this.reattachRequested = null;
      try {
        await this.attempt(generation);
        failures = 0;
        // Playing: sleep until something asks for a new attempt.
        await this.sleepUntilReattach(generation);
        this._stats.reconnects++;
        this.setState('reconnecting');
        await this.sleep(generation, this.delay(0));
      } catch (error) {
        if (error instanceof Cancelled || generation !== this.generation) return;
        const err = error instanceof Error ? error : new Error(String(error));
        this._stats.lastError = err.message;
        this.log('attempt failed', { error: err.message });
        const session = this.session;
        this.session = null;
        if (session) {
          this.teardown(session);
          void this.release(session, false);
        }
        if (isNotLive(err)) {
          this.setState('waiting');
          await this.waitUntilLive(generation).catch(() => undefined);
          continue;
        }
        const retry =
          isRetryable(err) || err instanceof RetryableError || this.reattachRequested !== null;
        if (!retry) {
          this.emit('error', err);
          this.setState('failed');
          return;
        }
        this.emit('error', err);
        this.setState('reconnecting');
        try {
          await this.sleep(generation, this.delay(failures++));
        } catch {
          return;
        }
      }
    }
  }

  private delay(failures: number): number {
    const { initialMs, maxMs, factor } = this.backoff;
    const base = Math.min(maxMs, initialMs * factor ** failures);
    return base * (0.75 + Math.random() * 0.5);
  }

  private sleep(generation: number, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    }).then(() => {
      this.wake = null;
      this.current(generation);
    });
  }

  private sleepUntilReattach(generation: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        this.wake = null;
        if (generation !== this.generation) reject(new Cancelled());
        else resolve();
      };
      if (this.reattachRequested !== null) check();
      else this.wake = check;
    });
  }

  /** Asks the loop for a new attempt (from transport/consumer/stall/socket events). */
  private requestReattach(reason: string): void {
    if (this.reattachRequested !== null || !this.streamId) return;
    this.log('re-attaching', { reason });
    this.reattachRequested = reason;
    this._stats.lastError = reason;
    const session = this.session;
    this.session = null;
    this.stopStats();
    if (session) {
      this.teardown(session);
      void this.release(session, false);
    }
    this.wake?.();
  }

  /** Polls the stream's status (V2) or just waits (V1) before the next attempt. */
  private async waitUntilLive(generation: number): Promise<void> {
    const poll = this.options.waitPollMs ?? 2000;
    const streamId = this.streamId;
    if (!streamId) return;
    const api = this.pickProtocol() === 'v2' ? restV2(this.config) : null;
    while (generation === this.generation) {
      await this.sleep(generation, poll);
      if (!api?.getStream) return; // V1: the next consume tells
      try {
        const stream = await api.getStream(streamId);
        if (stream.status === 'live' || stream.status === 'idle') return;
      } catch (error) {
        if (isV2Unavailable(error) || !isRetryable(error)) return;
      }
    }
  }

  private pickProtocol(): Protocol {
    const choice = this.options.protocol ?? 'auto';
    if (choice !== 'auto') return choice;
    return Date.now() < this.v2UnavailableUntil ? 'v1' : 'v2';
  }

  private async attempt(generation: number): Promise<void> {
    const protocol = this.pickProtocol();
    try {
      await this.attemptWith(generation, protocol);
    } catch (error) {
      const fallback =
        protocol === 'v2' && (this.options.protocol ?? 'auto') === 'auto' && isV2Unavailable(error);
      if (!fallback) throw error;
      this.log('REST V2 unavailable, falling back to the V1 WebSocket', { error: String(error) });
      this.v2UnavailableUntil = Date.now() + (this.options.v2RetryAfterMs ?? 60_000);
      const session = this.session;
      this.session = null;
      if (session) {
        this.teardown(session);
        void this.release(session, false);
      }
      this.current(generation);
      await this.attemptWith(generation, 'v1');
    }
  }

  private async attemptWith(generation: number, protocol: Protocol): Promise<void> {
    const streamId = this.streamId;
    const video = this.video;
    if (!streamId || !video) throw new Cancelled();
    this._stats.attempts++;
    const v1 = protocol === 'v1' ? new V1Client(this.config, this.clientId) : null;
    const api: ViewerApi = v1 ?? restV2(this.config);
    const session: Session = {
      api,
      streamId,
      startedAt: now(),
      consumeAt: 0,
      response: null,
      transport: null,
      consumer: null,
      audioConsumer: null,
      dtls: 'connect-call',
      disconnectTimer: null,
      iceTimer: null,
      iceError: null,
      everConnected: false,
      cleanups: [],
      released: false,
    };
    this.session = session;
    this._stats.protocol = protocol;
    this.emit('protocol', protocol);
    if (v1) {
      session.cleanups.push(
        v1.onClose((code) => {
          if (this.session === session) this.requestReattach(`V1 socket closed (${code})`);
        }),
      );
    }

    if (api.getStream) {
      const stream = await api.getStream(streamId);
      this.current(generation);
      // idle: an on-demand stream, started by this very consume (the server waits for it).
      if (stream.status !== 'live' && stream.status !== 'idle') {
        throw new VasmsApiError(protocol, 409, 'stream_not_live', `stream is ${stream.status}`);
      }
    }
    const { rtp_capabilities: routerCaps } = await api.getRouterCapabilities(streamId);
    this.current(generation);
    const device = await Device.factory();
    await device.load({ routerRtpCapabilities: routerCaps });
    this.current(generation);

    const prepared =
      this.certificate && !this.certificateRefused ? await this.certificate : null;
    this.current(generation);
    session.consumeAt = now();
    const response = await api.consume(streamId, {
      client_id: this.clientId,
      rtp_capabilities: device.rtpCapabilities,
      ...(prepared ? { dtls_parameters: prepared.dtlsParameters } : {}),
      ...(this.options.audio === false ? { audio: false } : {}),
    });
    session.response = response;
    if (generation !== this.generation || this.session !== session) {
      // Detached meanwhile: release what the server just created.
      session.released = false;
      void this.release(session, false);
      throw new Cancelled();
    }
    session.dtls = !response.connected
      ? 'connect-call'
      : protocol === 'v2'
        ? 'in-consume'
        : 'early-connect';
    const expected = response.connected ? prepared?.dtlsParameters.fingerprints[0]?.value : null;
    this._stats.dtls = session.dtls;
    this._stats.consumerId = response.consumer_id;
    this._stats.audioConsumerId = response.audio?.consumer_id ?? null;
    this._stats.transportId = response.transport.id;
    this._stats.certificateFingerprint = expected ?? null;

    const iceServers = response.ice_servers ?? [];
    this._stats.turnUrls = iceServers.flatMap((s) => s.urls);
    const transport = device.createRecvTransport({
      id: response.transport.id,
      iceParameters: response.transport.ice_parameters,
      iceCandidates: response.transport.ice_candidates,
      dtlsParameters: response.transport.dtls_parameters,
      iceServers,
      iceTransportPolicy: this.options.relay ? 'relay' : 'all',
      ...(prepared && response.connected
        ? { additionalSettings: { certificates: [prepared.certificate] } }
        : {}),
    });
    session.transport = transport;
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      if (expected) {
        // Already connected by consume: nothing to send, but check the browser used our cert.
        const used = dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
        if (used && sdpFingerprint(used.value) === sdpFingerprint(expected)) {
          callback();
        } else {
          this.certificateRefused = true;
          errback(new Error('the browser did not use the pre-generated DTLS certificate'));
          this.requestReattach('pre-generated certificate not used; retrying with /connect');
        }
        return;
      }
      api
        .connectTransport(response.transport.id, { dtls_parameters: dtlsParameters })
        .then(callback, errback);
    });
    transport.on('connectionstatechange', (state) => this.transportState(session, state));
    const iceTimeoutMs = this.options.iceTimeoutMs ?? 15_000;
    session.iceTimer = setTimeout(() => {
      if (!session.everConnected) this.iceFailed(session, `not connected after ${iceTimeoutMs} ms`);
    }, iceTimeoutMs);

    // Audio and video get different stream ids (msid), so Chromium does not try lip sync
    // on them: a camera's audio and video sender reports from the node do not share one
    // NTP clock, and Chromium's A/V sync then holds the video back (measured: a camera's
    // 1280x720 at 7 of 15 fps, a fast-start camera stuck on its 2 fps bridge). Both tracks
    // still play from the element's one MediaStream.
    const mediaStreamId = `vasms-${response.consumer_id}`;
    const consumer = await transport.consume({
      id: response.consumer_id,
      producerId: response.producer_id,
      kind: response.kind,
      rtpParameters: response.rtp_parameters,
      streamId: mediaStreamId,
    });
    session.consumer = consumer;
    if (generation !== this.generation || this.session !== session) throw new Cancelled();
    const watchConsumer = (c: ms.Consumer, what: string): void => {
      c.on('trackended', () => {
        if (this.session === session) this.requestReattach(`${what} track ended`);
      });
      c.on('transportclose', () => {
        if (this.session === session) this.requestReattach('transport closed');
      });
    };
    watchConsumer(consumer, 'video');
    const audio = response.audio ?? null;
    if (audio) {
      // Same receive transport; DELETE of the video consumer closes it server-side too.
      try {
        session.audioConsumer = await transport.consume({
          id: audio.consumer_id,
          producerId: audio.producer_id,
          kind: audio.kind,
          rtpParameters: audio.rtp_parameters,
          streamId: `${mediaStreamId}-audio`,
        });
      } catch (error) {
        // The picture matters more: play it without sound rather than retry forever.
        this.log('audio consumer refused by the browser; video only', { error: String(error) });
      }
      if (generation !== this.generation || this.session !== session) throw new Cancelled();
      if (session.audioConsumer) watchConsumer(session.audioConsumer, 'audio');
    }
    this._stats.hasAudio = session.audioConsumer !== null;
    // Resuming a paused video consumer resumes its audio consumer too (V2 and V1).
    if (response.paused) await api.resumeConsumer(response.consumer_id);

    const tracks = [consumer.track];
    if (session.audioConsumer) tracks.push(session.audioConsumer.track);
    video.muted = this._muted;
    video.srcObject = new MediaStream(tracks);
    video.play().catch(() => undefined); // autoplay refusals: the frame still renders
    await this.firstFrame(generation, session, video);
    const at = now();
    this._stats.ttffMs = Math.round(at - session.startedAt);
    this._stats.consumeToFirstFrameMs = Math.round(at - session.consumeAt);
    this._stats.width = video.videoWidth;
    this._stats.height = video.videoHeight;
    this._stats.lastError = null;
    this.lastFrameProgressAt = now();
    this.setState('playing');
    this.emit('firstframe', {
      ttffMs: this._stats.ttffMs,
      consumeToFirstFrameMs: this._stats.consumeToFirstFrameMs,
      width: video.videoWidth,
      height: video.videoHeight,
      protocol,
      dtls: session.dtls,
    });
    this.startStats(session);
  }

  /** Resolves when the element has a decoded frame (requestVideoFrameCallback or polling). */
  private firstFrame(generation: number, session: Session, video: HTMLVideoElement): Promise<void> {
    const timeoutMs = this.options.firstFrameTimeoutMs ?? 25_000;
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const finish = (error?: Error): void => {
        if (finished) return;
        finished = true;
        clearInterval(poll);
        clearTimeout(timer);
        video.removeEventListener('loadeddata', onData);
        if (error) reject(error);
        else resolve();
      };
      const ready = (): boolean =>
        video.videoWidth > 0 && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA;
      const onData = (): void => {
        if (ready()) finish();
      };
      const poll = setInterval(() => {
        if (generation !== this.generation) {
          finish(new Cancelled());
        } else if (session.iceError) {
          finish(session.iceError);
        } else if (this.session !== session) {
          finish(new RetryableError(this.reattachRequested ?? 'session lost'));
        } else if (ready()) {
          finish();
        }
      }, 20);
      const timer = setTimeout(
        () => finish(new FirstFrameTimeout(`no video frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      video.addEventListener('loadeddata', onData);
      if (typeof video.requestVideoFrameCallback === 'function') {
        video.requestVideoFrameCallback(() => finish());
      }
    });
  }

  private transportState(session: Session, state: ms.ConnectionState): void {
    if (this.session !== session) return;
    this.log('transport state', { state });
    if (session.disconnectTimer) {
      clearTimeout(session.disconnectTimer);
      session.disconnectTimer = null;
    }
    if (state === 'connected') {
      session.everConnected = true;
      if (session.iceTimer) clearTimeout(session.iceTimer);
      session.iceTimer = null;
    } else if (state === 'failed' && !session.everConnected) {
      this.iceFailed(session, 'failed');
    } else if (state === 'failed' || state === 'closed') {
      this.requestReattach(`transport ${state}`);
    } else if (state === 'disconnected') {
      // ICE may recover by itself (consent is checked again); give it a few seconds.
      session.disconnectTimer = setTimeout(() => {
        if (this.session === session) this.requestReattach('transport disconnected');
      }, 4000);
    }
  }

  /**
   * ICE never completed: the attempt fails with a `VasmsIceError` saying what was tried
   * (the first-frame wait rejects with it, and the loop gives up: state `failed`).
   */
  private iceFailed(session: Session, outcome: string): void {
    if (session.iceError || session.everConnected) return;
    const urls = this._stats.turnUrls;
    const relay = this.options.relay ?? false;
    const candidates = (session.response?.transport.ice_candidates ?? [])
      .map((c) => `${c.protocol} ${c.address ?? c.ip}:${c.port}`)
      .join(', ');
    const how = relay ? 'relay only' : `node candidates ${candidates || 'none'}`;
    const via = urls.length ? `TURN ${urls.join(' ')}` : 'no TURN server offered';
    session.iceError = new VasmsIceError(
      `ICE ${outcome} (${how}; ${via}): the network between this browser and the media node ` +
        'blocks the path',
      urls,
      this.options.iceTimeoutMs ?? 15_000,
    );
    this.log('ICE failed', { error: session.iceError.message });
  }

  /** Closes the local side of a session (no server call). Idempotent. */
  private teardown(session: Session): void {
    if (session.disconnectTimer) clearTimeout(session.disconnectTimer);
    session.disconnectTimer = null;
    if (session.iceTimer) clearTimeout(session.iceTimer);
    session.iceTimer = null;
    for (const cleanup of session.cleanups.splice(0)) cleanup();
    try {
      session.audioConsumer?.close();
      session.consumer?.close();
      session.transport?.close();
    } catch {
      // already closed
    }
  }

  /**
   * Releases the server side: DELETE the video consumer (V2; it closes the audio consumer
   * and the transport too) or close the socket (V1).
   */
  private async release(session: Session, keepalive: boolean): Promise<void> {
    if (session.released) return;
    session.released = true;
    const consumerId = session.response?.consumer_id;
    try {
      if (consumerId) await session.api.detachConsumer(consumerId, { keepalive });
    } catch (error) {
      this.log('detach failed', { error: String(error) });
    } finally {
      session.api.close();
    }
  }

  // -------------------------------------------------------------------------
  // Page lifecycle

  private pageHidden(event: PageTransitionEvent): void {
    const session = this.session;
    if (!session || !this.streamId) return;
    this.log('pagehide: detaching', { persisted: event.persisted });
    this.hiddenByPage = true;
    this.generation++;
    this.wake?.();
    this.stopStats();
    this.session = null;
    this.teardown(session);
    void this.release(session, true);
    this.setState('idle');
  }

  private pageShown(event: PageTransitionEvent): void {
    // Back from the back/forward cache: the page lives on, so play again.
    if (event.persisted && this.hiddenByPage && this.video && this.streamId) {
      void this.attach(this.video, this.streamId).catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------
  // Stats and stall detection

  private startStats(session: Session): void {
    this.stopStats();
    this.lastSample = null;
    const interval = this.options.statsIntervalMs ?? 1000;
    this.statsTimer = setInterval(() => void this.sample(session), interval);
    void this.sample(session);
  }

  private stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  private async sample(session: Session): Promise<void> {
    const consumer = session.consumer;
    if (!consumer || consumer.closed || this.session !== session) return;
    let report: RTCStatsReport;
    let audioReport: RTCStatsReport | null = null;
    try {
      const audioConsumer = session.audioConsumer;
      [report, audioReport] = await Promise.all([
        consumer.getStats(),
        audioConsumer && !audioConsumer.closed ? audioConsumer.getStats() : null,
      ]);
    } catch {
      return;
    }
    if (this.session !== session) return;
    const all = new Map<string, StatsRecord>();
    report.forEach((entry: StatsRecord) => all.set(entry.id, entry));
    const inboundOf = (records: Iterable<StatsRecord>, kind: string): StatsRecord | undefined => {
      let found: StatsRecord | undefined;
      for (const entry of records) {
        if (entry.type === 'inbound-rtp' && (entry['kind'] ?? entry['mediaType']) === kind) {
          found = entry;
        }
      }
      return found;
    };
    const inbound = inboundOf(all.values(), 'video');
    const s = this._stats;
    const at = now();
    let audioBytes = 0;
    if (audioReport) {
      const audioAll = new Map<string, StatsRecord>();
      audioReport.forEach((entry: StatsRecord) => audioAll.set(entry.id, entry));
      const audioIn = inboundOf(audioAll.values(), 'audio');
      if (audioIn) {
        audioBytes = num(audioIn['bytesReceived']);
        const prev = this.lastSample;
        if (prev) {
          const seconds = Math.max(0.001, (at - prev.at) / 1000);
          s.audioBitrateKbps = Math.round(((audioBytes - prev.audioBytes) * 8) / seconds / 1000);
        }
        s.audioBytesReceived = audioBytes;
        s.audioPacketsReceived = num(audioIn['packetsReceived']);
        s.audioPacketsLost = num(audioIn['packetsLost']);
        const codec = audioAll.get(String(audioIn['codecId'] ?? ''));
        if (codec) s.audioCodec = String(codec['mimeType'] ?? '') || null;
      }
    }
    if (inbound) {
      const bytes = num(inbound['bytesReceived']);
      const packets = num(inbound['packetsReceived']);
      const lost = num(inbound['packetsLost']);
      const frames = num(inbound['framesDecoded']);
      const prev = this.lastSample;
      if (prev) {
        const seconds = Math.max(0.001, (at - prev.at) / 1000);
        s.bitrateKbps = Math.round(((bytes - prev.bytes) * 8) / seconds / 1000);
        const got = packets - prev.packets;
        const missed = Math.max(0, lost - prev.lost);
        s.lossPercent = got + missed > 0 ? Math.round((missed / (got + missed)) * 10000) / 100 : 0;
        const fps = num(inbound['framesPerSecond']);
        s.fps = fps > 0 ? fps : Math.round((frames - prev.frames) / seconds);
      }
      if (frames > s.framesDecoded) this.lastFrameProgressAt = at;
      this.lastSample = { at, audioBytes, bytes, packets, lost, frames };
      s.packetsReceived = packets;
      s.packetsLost = lost;
      s.framesDecoded = frames;
      s.framesDropped = num(inbound['framesDropped']);
      s.jitterMs = Math.round(num(inbound['jitter']) * 1000);
      s.width = num(inbound['frameWidth']) || this.video?.videoWidth || 0;
      s.height = num(inbound['frameHeight']) || this.video?.videoHeight || 0;
      const codec = all.get(String(inbound['codecId'] ?? ''));
      if (codec) s.codec = String(codec['mimeType'] ?? '') || null;
      const transport = all.get(String(inbound['transportId'] ?? ''));
      const cert = transport ? all.get(String(transport['localCertificateId'] ?? '')) : undefined;
      if (cert && typeof cert['fingerprint'] === 'string') {
        s.localFingerprint = sdpFingerprint(cert['fingerprint']);
      }
      const pair = transport
        ? all.get(String(transport['selectedCandidatePairId'] ?? ''))
        : undefined;
      const local = pair ? all.get(String(pair['localCandidateId'] ?? '')) : undefined;
      if (local) {
        s.candidateType = String(local['candidateType'] ?? '') || null;
        s.relayProtocol =
          s.candidateType === 'relay' ? String(local['relayProtocol'] ?? '') || null : null;
      }
    }
    this.emit('stats', this.stats);
    const stallMs = this.options.stallTimeoutMs ?? 5000;
    if (this._state === 'playing' && at - this.lastFrameProgressAt > stallMs) {
      void this.checkStall(session);
    }
  }

  /** No frames for a while: re-attach unless the server says the consumer is fine. */
  private async checkStall(session: Session): Promise<void> {
    if (this.stallCheckInFlight) return;
    this.stallCheckInFlight = true;
    try {
      const consumerId = session.response?.consumer_id;
      const open =
        consumerId && session.api.consumerOpen
          ? await session.api.consumerOpen(consumerId)
          : undefined;
      let live: boolean | undefined;
      if (open && session.api.getStream) {
        live = await session.api
          .getStream(session.streamId)
          .then((st) => st.status === 'live')
          .catch(() => undefined);
      }
      if (this.session !== session) return;
      if (open === true && live !== false) {
        // The server still sends to us: the source itself stalled. Keep waiting.
        this.lastFrameProgressAt = now();
        return;
      }
      this.requestReattach(open === false ? 'consumer closed by the server' : 'video stalled');
    } finally {
      this.stallCheckInFlight = false;
    }
  }

  // -------------------------------------------------------------------------

  private setState(state: PlayerState): void {
    const previous = this._state;
    if (previous === state) return;
    if (previous === 'closed') return;
    this._state = state;
    this._stats.state = state;
    this.log('state', { state, previous });
    this.emit('state', state, previous);
  }

  private log(message: string, extra?: Record<string, unknown>): void {
    this.options.log?.(`vasms-player ${this.streamId ?? '-'}: ${message}`, extra);
  }
}

/** A failure of one attempt that the next attempt may not have (lost transport, …). */
export class RetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** The first frame did not come in time: retried like a network error. */
export class FirstFrameTimeout extends RetryableError {
  constructor(message: string) {
    super(message);
    this.name = 'FirstFrameTimeout';
  }
}

export { VasmsApiError, VasmsNetworkError };
