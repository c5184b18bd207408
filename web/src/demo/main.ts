/**
 * The demo page served by the control API at `/`: sign in, list streams with
 * their status, click to play (several players side by side), stats overlay.
 *
 * The URL fragment can preset things (it never reaches the server):
 *   #token=<jwt>&play=<id>,<id>&protocol=auto|v2|v1&dtls=auto|connect&relay=1
 * and the query `?relay=1` (or `relay=1` in the fragment) makes players relay-only (TURN).
 * `window.vasmsDemo` exposes the players for debugging and the e2e tests.
 */

import {
  type ApiConfig,
  type StreamOut,
  createStream,
  listStreams,
  signIn,
  startStream,
} from '../api-v2';
import { VasmsApiError, isV2Unavailable } from '../errors';
import { type DtlsMode, type PlayerStats, type ProtocolChoice, VasmsPlayer } from '../player';

const TOKEN_KEY = 'vasms.token';

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined) node.setAttribute(key, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function jwtName(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { name?: unknown; role?: unknown };
    const name = typeof claims.name === 'string' ? claims.name : '?';
    return typeof claims.role === 'string' ? `${name} (${claims.role})` : name;
  } catch {
    return '?';
  }
}

interface Tile {
  id: number;
  streamId: string;
  name: string;
  player: VasmsPlayer;
  root: HTMLDivElement;
  video: HTMLVideoElement;
}

export interface TileSnapshot {
  id: number;
  streamId: string;
  name: string;
  state: string;
  stats: PlayerStats;
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  totalVideoFrames: number;
}

class Demo {
  readonly config: ApiConfig;
  readonly tiles: Tile[] = [];
  readonly log: string[] = [];
  token: string | null;
  v2Available: boolean | null = null;
  private nextTile = 1;
  private streams = new Map<string, StreamOut>();
  private refreshTimer: ReturnType<typeof setInterval> | null = null;

  constructor() {
    this.token = sessionStorage.getItem(TOKEN_KEY);
    this.config = { baseUrl: '', token: () => this.token };
  }

  start(): void {
    const hash = new URLSearchParams(window.location.hash.slice(1));
    const hashToken = hash.get('token');
    if (hashToken) this.setToken(hashToken);
    const protocol = hash.get('protocol');
    if (protocol === 'auto' || protocol === 'v2' || protocol === 'v1') {
      $<HTMLSelectElement>('protocol').value = protocol;
    }
    const dtls = hash.get('dtls');
    if (dtls === 'auto' || dtls === 'connect') $<HTMLSelectElement>('dtls').value = dtls;
    const query = new URLSearchParams(window.location.search);
    if (query.get('relay') === '1' || hash.get('relay') === '1') {
      $<HTMLInputElement>('relay').checked = true;
    }
    if (hashToken) {
      // Keep the token out of the address bar (history, screenshots, referrers).
      hash.delete('token');
      const rest = hash.toString();
      history.replaceState(null, '', window.location.pathname + (rest ? `#${rest}` : ''));
    }

    $<HTMLFormElement>('signin').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.signIn();
    });
    $('signout').addEventListener('click', () => this.signOut());
    $<HTMLFormElement>('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const value = $<HTMLInputElement>('token-input').value.trim();
      if (value) this.setToken(value);
    });
    $<HTMLFormElement>('play-by-id').addEventListener('submit', (e) => {
      e.preventDefault();
      const id = $<HTMLInputElement>('stream-id').value.trim();
      if (id) this.play(id);
    });
    $('new-pattern').addEventListener('click', () => void this.newPattern());

    this.renderSession();
    for (const id of (hash.get('play') ?? '').split(',').filter(Boolean)) this.play(id);
    void this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), 2000);
  }

  message(text: string): void {
    $('message').textContent = text;
    this.log.push(`${new Date().toISOString()} ${text}`);
  }

  setToken(token: string | null): void {
    this.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    this.renderSession();
    void this.refresh();
  }

  renderSession(): void {
    const signedIn = Boolean(this.token);
    $('signin').hidden = signedIn;
    $('session').hidden = !signedIn;
    $('session-user').textContent = this.token ? jwtName(this.token) : '';
  }

  async signIn(): Promise<void> {
    const username = $<HTMLInputElement>('username').value;
    const password = $<HTMLInputElement>('password').value;
    try {
      const answer = await signIn(this.config, username, password);
      this.message('');
      this.setToken(answer.access_token);
    } catch (error) {
      if (isV2Unavailable(error)) {
        this.setV2Available(false);
        this.message('Sign-in needs REST V2, which is disabled here: paste an access token.');
      } else if (error instanceof VasmsApiError && error.status === 401) {
        this.message('Wrong username or password.');
      } else {
        this.message(`Sign-in failed: ${String(error)}`);
      }
    }
  }

  signOut(): void {
    for (const tile of [...this.tiles]) this.close(tile);
    this.setToken(null);
    this.renderStreams([]);
  }

  setV2Available(available: boolean): void {
    this.v2Available = available;
    $('v2-off').hidden = available;
    $('token-form').hidden = available;
    $('streams').hidden = !available;
    $('new-pattern').hidden = !available;
    const badge = $('api-status');
    badge.textContent = available ? 'REST V2' : 'V1 WebSocket only';
    badge.className = `badge ${available ? 'status-live' : 'status-starting'}`;
  }

  async refresh(): Promise<void> {
    if (!this.token) {
      $('api-status').textContent = 'signed out';
      return;
    }
    try {
      const streams = await listStreams(this.config);
      this.setV2Available(true);
      this.renderStreams(streams);
    } catch (error) {
      if (isV2Unavailable(error)) {
        this.setV2Available(false);
      } else if (error instanceof VasmsApiError && error.status === 401) {
        this.message('Session expired: sign in again.');
        this.setToken(null);
      } else {
        this.message(`Stream list: ${String(error)}`);
      }
    }
  }

  renderStreams(streams: StreamOut[]): void {
    this.streams = new Map(streams.map((s) => [s.id, s]));
    const body = $('streams').querySelector('tbody');
    if (!body) return;
    body.replaceChildren(
      ...streams.map((s) => {
        const row = el('tr', { 'data-stream-id': s.id, 'data-status': s.status, title: s.id });
        row.append(el('td', {}, s.name));
        const status = el('td');
        status.append(el('span', { class: `badge status-${s.status}` }, s.status));
        row.append(status, el('td', {}, String(s.consumer_count)));
        row.addEventListener('click', () => this.play(s.id));
        return row;
      }),
    );
    $('no-streams').hidden = streams.length > 0;
  }

  async newPattern(): Promise<void> {
    try {
      const stream = await createStream(this.config, {
        name: `pattern-${new Date().toLocaleTimeString()}`,
        source: { type: 'test_pattern' },
      });
      await startStream(this.config, stream.id);
      await this.refresh();
    } catch (error) {
      this.message(`Could not start a test pattern: ${String(error)}`);
    }
  }

  play(streamId: string): Tile {
    const name = this.streams.get(streamId)?.name ?? streamId.slice(0, 8);
    const root = el('div', { class: 'tile', 'data-stream-id': streamId, 'data-state': 'idle' });
    const video = el('video', { muted: '', playsinline: '', autoplay: '' });
    video.muted = true;
    const overlay = el('div', { class: 'overlay' }, `${name}\nconnecting…`);
    const close = el('button', { class: 'close', type: 'button', title: 'Close player' }, '×');
    root.append(video, overlay, close);
    $('players').append(root);

    const protocol = $<HTMLSelectElement>('protocol').value as ProtocolChoice;
    const dtls = $<HTMLSelectElement>('dtls').value === 'connect' ? 'connect' : 'auto';
    const relay = $<HTMLInputElement>('relay').checked;
    const player = new VasmsPlayer({
      apiBase: '',
      token: () => this.token,
      protocol,
      dtls,
      relay,
      log: (m, extra) => this.log.push(`${m} ${extra ? JSON.stringify(extra) : ''}`),
    });
    const tile: Tile = { id: this.nextTile++, streamId, name, player, root, video };
    this.tiles.push(tile);
    const draw = (s: PlayerStats): void => {
      root.dataset['state'] = s.state;
      overlay.textContent = overlayText(name, s);
    };
    player.on('state', () => draw(player.stats));
    player.on('stats', draw);
    player.on('firstframe', () => draw(player.stats));
    player.on('error', (e) => this.log.push(`player ${tile.id}: ${e.message}`));
    close.addEventListener('click', () => this.close(tile));
    player.attach(video, streamId).catch((e: unknown) => this.message(`Player: ${String(e)}`));
    return tile;
  }

  close(tile: Tile): void {
    const index = this.tiles.indexOf(tile);
    if (index >= 0) this.tiles.splice(index, 1);
    void tile.player.destroy();
    tile.root.remove();
  }

  snapshot(): TileSnapshot[] {
    return this.tiles.map((t) => ({
      id: t.id,
      streamId: t.streamId,
      name: t.name,
      state: t.player.state,
      stats: t.player.stats,
      videoWidth: t.video.videoWidth,
      videoHeight: t.video.videoHeight,
      currentTime: t.video.currentTime,
      totalVideoFrames: t.video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0,
    }));
  }

  stop(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
  }
}

const DTLS_LABELS: Record<DtlsMode, string> = {
  'in-consume': 'DTLS in consume',
  'early-connect': 'DTLS connected early',
  'connect-call': 'DTLS /connect',
};

function overlayText(name: string, s: PlayerStats): string {
  const dtls = s.dtls ? DTLS_LABELS[s.dtls] : '';
  const proto = s.protocol ? `${s.protocol.toUpperCase()} · ${dtls}` : '';
  const lines = [`${name}  [${s.state}]  ${proto}`];
  if (s.width) {
    lines.push(
      `${s.width}x${s.height}  ${s.fps.toFixed(0)} fps  ${s.bitrateKbps} kbit/s  ${s.codec ?? ''}`,
      `loss ${s.lossPercent.toFixed(1)}% (${s.packetsLost}/${s.packetsReceived})` +
        `  jitter ${s.jitterMs} ms`,
    );
  }
  if (s.ttffMs !== null) {
    lines.push(`first frame ${s.ttffMs} ms (consume→frame ${s.consumeToFirstFrameMs} ms)`);
  }
  if (s.candidateType) {
    const via = s.relayProtocol ? ` over ${s.relayProtocol}` : '';
    lines.push(`ICE ${s.candidateType}${via}`);
  }
  if (s.reconnects) lines.push(`reconnects ${s.reconnects}`);
  if (s.state !== 'playing' && s.lastError) lines.push(s.lastError);
  return lines.join('\n');
}

declare global {
  interface Window {
    vasmsDemo?: Demo;
  }
}

const demo = new Demo();
window.vasmsDemo = demo;
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', () => demo.start());
} else {
  demo.start();
}
