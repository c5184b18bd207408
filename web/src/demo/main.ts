/**
 * The camera console served by the control API at `/`: sign in; operators add
 * cameras (name, RTSP URL, transcode mode, on demand), start, stop and delete
 * them; everyone sees each camera's status and reason with a thumbnail (from
 * its snapshot), clicks to play, and arranges players on a wall of 1/4/9/16
 * tiles (or freely), with a stats overlay per tile.
 *
 * The URL fragment can preset things (it never reaches the server):
 *   #token=<jwt>&play=<id>,<id>&protocol=auto|v2|v1&dtls=auto|connect&relay=1&audio=0
 * and the query `?relay=1` (or `relay=1` in the fragment) makes players relay-only (TURN).
 * `window.vasmsDemo` exposes the players for debugging and the e2e tests.
 */

import {
  type ApiConfig,
  type StreamOut,
  createStream,
  deleteStream,
  fetchSnapshot,
  listStreams,
  signIn,
  startStream,
  stopStream,
} from '../api-v2';
import { VasmsApiError, isV2Unavailable } from '../errors';
import { type DtlsMode, type PlayerStats, type ProtocolChoice, VasmsPlayer } from '../player';

const TOKEN_KEY = 'vasms.token';
const THUMB_WIDTH = 160;
const THUMB_REFRESH_MS = 10_000;
const WALL_SIZES = [0, 1, 4, 9, 16];

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

function jwtClaims(token: string): { name?: unknown; role?: unknown } {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as { name?: unknown; role?: unknown };
  } catch {
    return {};
  }
}

function jwtName(token: string): string {
  const claims = jwtClaims(token);
  const name = typeof claims.name === 'string' ? claims.name : '?';
  return typeof claims.role === 'string' ? `${name} (${claims.role})` : name;
}

/** Whether the token's role may manage cameras (the server decides; this only hides UI). */
function isOperator(token: string | null): boolean {
  const role = token ? jwtClaims(token).role : undefined;
  return role === 'operator' || role === 'admin';
}

interface Thumb {
  url: string;
  at: number;
}

interface Tile {
  id: number;
  streamId: string;
  name: string;
  player: VasmsPlayer;
  root: HTMLDivElement;
  video: HTMLVideoElement;
  /** Mute/unmute of the tile's audio (shown once the player receives audio). */
  mute: HTMLButtonElement;
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
  /** The element's own muted flag (what the user hears). */
  muted: boolean;
  hasAudio: boolean;
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
  private thumbs = new Map<string, Thumb>();
  private thumbsLoading = false;
  wall = 0;

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
    if (hash.get('audio') === '0') $<HTMLInputElement>('audio').checked = false;
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
    $<HTMLFormElement>('add-camera').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.addCamera();
    });
    $<HTMLSelectElement>('wall-size').addEventListener('change', (e) => {
      this.setWall(Number((e.target as HTMLSelectElement).value));
    });
    $('fill-wall').addEventListener('click', () => this.fillWall());
    $('clear-wall').addEventListener('click', () => {
      for (const tile of [...this.tiles]) this.close(tile);
    });
    const wall = Number(hash.get('wall') ?? '0');
    if (WALL_SIZES.includes(wall)) this.setWall(wall);

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
    $('add-camera').hidden = !isOperator(this.token) || this.v2Available === false;
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
    $('add-camera').hidden = !available || !isOperator(this.token);
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
    for (const [id, thumb] of this.thumbs) {
      if (!this.streams.has(id)) {
        URL.revokeObjectURL(thumb.url);
        this.thumbs.delete(id);
      }
    }
    const body = $('streams').querySelector('tbody');
    if (!body) return;
    const operator = isOperator(this.token);
    body.replaceChildren(...streams.map((s) => this.streamRow(s, operator)));
    $('no-streams').hidden = streams.length > 0;
    void this.loadThumbs(streams);
  }

  private streamRow(s: StreamOut, operator: boolean): HTMLTableRowElement {
    const row = el('tr', { 'data-stream-id': s.id, 'data-status': s.status, title: s.id });
    const thumbCell = el('td', { class: 'thumb' });
    const thumb = this.thumbs.get(s.id);
    if (thumb) thumbCell.append(el('img', { src: thumb.url, alt: `${s.name} snapshot` }));
    const status = el('td');
    status.append(el('span', { class: `badge status-${s.status}` }, s.status));
    if (s.status_reason && s.status !== 'live') {
      status.append(el('span', { class: 'reason' }, s.status_reason));
    }
    const actions = el('td', { class: 'actions' });
    const action = (label: string, name: string, run: () => Promise<unknown>): void => {
      const button = el('button', { type: 'button', 'data-action': name }, label);
      button.addEventListener('click', (e) => {
        e.stopPropagation();
        run()
          .then(() => this.refresh())
          .catch((error: unknown) => this.message(`${label} ${s.name}: ${String(error)}`));
      });
      actions.append(button);
    };
    const running = ['starting', 'live', 'error', 'idle'].includes(s.status);
    if (operator && !running) action('Start', 'start', () => startStream(this.config, s.id));
    if (operator && running) action('Stop', 'stop', () => this.stopCamera(s.id));
    if (operator && !running) action('Delete', 'delete', () => deleteStream(this.config, s.id));
    row.append(thumbCell, el('td', {}, s.name), status, el('td', {}, String(s.consumer_count)));
    row.append(actions);
    row.addEventListener('click', () => this.play(s.id));
    return row;
  }

  /** Snapshots of live cameras, one request at a time, each at most every 10 s. */
  private async loadThumbs(streams: StreamOut[]): Promise<void> {
    if (this.thumbsLoading) return;
    this.thumbsLoading = true;
    try {
      for (const s of streams) {
        const known = this.thumbs.get(s.id);
        if (s.status !== 'live' || (known && Date.now() - known.at < THUMB_REFRESH_MS)) continue;
        try {
          const blob = await fetchSnapshot(this.config, s.id, THUMB_WIDTH);
          if (known) URL.revokeObjectURL(known.url);
          const thumb = { url: URL.createObjectURL(blob), at: Date.now() };
          this.thumbs.set(s.id, thumb);
          const cell = document.querySelector(`tr[data-stream-id="${s.id}"] td.thumb`);
          cell?.replaceChildren(el('img', { src: thumb.url, alt: `${s.name} snapshot` }));
        } catch {
          // Not live any more, or no key frame yet: the next refresh tries again.
        }
      }
    } finally {
      this.thumbsLoading = false;
    }
  }

  async addCamera(): Promise<void> {
    const name = $<HTMLInputElement>('cam-name').value.trim();
    const url = $<HTMLInputElement>('cam-url').value.trim();
    const mode = $<HTMLSelectElement>('cam-transcode').value;
    const transcode = mode === 'auto' ? 'auto' : mode === 'true';
    const onDemand = $<HTMLInputElement>('cam-on-demand').checked;
    try {
      const stream = await createStream(this.config, {
        name,
        source: { type: 'rtsp', url, transcode, ...(onDemand ? { on_demand: true } : {}) },
      });
      if ($<HTMLInputElement>('cam-start').checked) await startStream(this.config, stream.id);
      $<HTMLFormElement>('add-camera').reset();
      this.message(`Camera ${stream.name} added.`);
      await this.refresh();
    } catch (error) {
      this.message(`Could not add the camera: ${String(error)}`);
    }
  }

  async stopCamera(streamId: string): Promise<void> {
    for (const tile of this.tiles.filter((t) => t.streamId === streamId)) this.close(tile);
    await stopStream(this.config, streamId);
  }

  /** 0: players side by side as they come; 1/4/9/16: a square wall of that many tiles. */
  setWall(size: number): void {
    this.wall = size;
    $<HTMLSelectElement>('wall-size').value = String(size);
    $('players').dataset['wall'] = String(size);
    while (size && this.tiles.length > size) {
      const last = this.tiles[this.tiles.length - 1];
      if (last) this.close(last);
    }
  }

  /** Fills the wall's empty tiles with the cameras that can play, in list order. */
  fillWall(): void {
    const size = this.wall || 4;
    if (!this.wall) this.setWall(size);
    const playable = [...this.streams.values()].filter((s) =>
      ['live', 'idle', 'starting'].includes(s.status),
    );
    if (!playable.length) {
      this.message('No camera is running: start one first.');
      return;
    }
    for (let i = this.tiles.length; i < size; i++) {
      const stream = playable[i % playable.length];
      if (stream) this.play(stream.id);
    }
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
    if (this.wall && this.tiles.length >= this.wall) {
      const oldest = this.tiles[0];
      if (oldest) this.close(oldest);
    }
    const name = this.streams.get(streamId)?.name ?? streamId.slice(0, 8);
    const root = el('div', { class: 'tile', 'data-stream-id': streamId, 'data-state': 'idle' });
    const video = el('video', { muted: '', playsinline: '', autoplay: '' });
    video.muted = true;
    const overlay = el('div', { class: 'overlay' }, `${name}\nconnecting…`);
    const close = el('button', { class: 'close', type: 'button', title: 'Close player' }, '×');
    // Muted by default (autoplay policies); a click is the gesture that lets sound play.
    const mute = el('button', { class: 'mute', type: 'button', title: 'Unmute' }, '🔇');
    mute.hidden = true;
    root.append(video, overlay, mute, close);
    $('players').append(root);

    const protocol = $<HTMLSelectElement>('protocol').value as ProtocolChoice;
    const dtls = $<HTMLSelectElement>('dtls').value === 'connect' ? 'connect' : 'auto';
    const relay = $<HTMLInputElement>('relay').checked;
    const audio = $<HTMLInputElement>('audio').checked;
    const player = new VasmsPlayer({
      apiBase: '',
      token: () => this.token,
      protocol,
      dtls,
      relay,
      audio,
      log: (m, extra) => this.log.push(`${m} ${extra ? JSON.stringify(extra) : ''}`),
    });
    const tile: Tile = { id: this.nextTile++, streamId, name, player, root, video, mute };
    this.tiles.push(tile);
    const drawMute = (): void => {
      mute.hidden = !player.stats.hasAudio;
      mute.textContent = player.muted ? '🔇' : '🔊';
      mute.title = player.muted ? 'Unmute' : 'Mute';
      root.dataset['muted'] = String(player.muted);
    };
    const draw = (s: PlayerStats): void => {
      root.dataset['state'] = s.state;
      overlay.textContent = overlayText(name, s);
      drawMute();
    };
    player.on('muted', drawMute);
    mute.addEventListener('click', () => player.setMuted(!player.muted));
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
      muted: t.video.muted,
      hasAudio: t.player.stats.hasAudio,
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
  if (s.hasAudio) {
    const heard = s.muted ? 'muted' : 'on';
    lines.push(`audio ${s.audioCodec ?? ''} ${s.audioBitrateKbps} kbit/s (${heard})`);
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
