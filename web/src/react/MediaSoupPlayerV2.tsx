/**
 * <MediaSoupPlayerV2>: a React wrapper of VasmsPlayer.
 *
 *   <MediaSoupPlayerV2 streamId={id} apiBase="" token={token}
 *                      onStats={(s) => setFps(s.fps)} />
 *
 * A new player is made when streamId, apiBase, token, protocol, dtls or audio change;
 * `muted` changes mute or unmute the playing player (no re-attach); callbacks may
 * change on every render without re-attaching (read through a ref).
 *
 * Audio: muted by default (autoplay policies); render `muted={false}` after a user
 * gesture, e.g. from an unmute button's click, to hear it. `audio={false}`: video only.
 * React is a peer dependency: this file is bundled with react left external.
 */

import { type CSSProperties, type ReactElement, useEffect, useRef } from 'react';

import {
  type FirstFrameInfo,
  type PlayerState,
  type PlayerStats,
  type ProtocolChoice,
  type VasmsPlayerOptions,
  VasmsPlayer,
} from '../player';
import type { Protocol } from '../errors';

export interface MediaSoupPlayerV2Props {
  streamId: string;
  /** Origin of the control API; '' for the page's own origin. */
  apiBase: string;
  token: string;
  protocol?: ProtocolChoice;
  dtls?: 'auto' | 'connect';
  /** Default true. Switch to false from a user gesture to hear the stream's audio. */
  muted?: boolean;
  /** Receive the stream's audio (default true); false asks the server for video only. */
  audio?: boolean;
  className?: string;
  style?: CSSProperties;
  /** Further VasmsPlayer options (backoff, timeouts, log). */
  options?: Omit<
    VasmsPlayerOptions,
    'apiBase' | 'token' | 'protocol' | 'dtls' | 'muted' | 'audio'
  >;
  onStateChange?: (state: PlayerState, previous: PlayerState) => void;
  onStats?: (stats: PlayerStats) => void;
  onFirstFrame?: (info: FirstFrameInfo) => void;
  onProtocol?: (protocol: Protocol) => void;
  onError?: (error: Error) => void;
  /** The element was muted or unmuted (also when the browser refused to unmute). */
  onMutedChange?: (muted: boolean) => void;
  /** The player itself, for imperative use (reconnect, stats); null on unmount. */
  onPlayer?: (player: VasmsPlayer | null) => void;
}

export function MediaSoupPlayerV2(props: MediaSoupPlayerV2Props): ReactElement {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const playerRef = useRef<VasmsPlayer | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const { streamId, apiBase, token, protocol = 'auto', dtls = 'auto', audio = true } = props;
  const muted = props.muted ?? true;

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    const player = new VasmsPlayer({
      ...latest.current.options,
      apiBase,
      token,
      protocol,
      dtls,
      audio,
      muted: latest.current.muted ?? true,
    });
    playerRef.current = player;
    const offs = [
      player.on('state', (s, p) => latest.current.onStateChange?.(s, p)),
      player.on('stats', (s) => latest.current.onStats?.(s)),
      player.on('firstframe', (i) => latest.current.onFirstFrame?.(i)),
      player.on('protocol', (p) => latest.current.onProtocol?.(p)),
      player.on('error', (e) => latest.current.onError?.(e)),
      player.on('muted', (m) => latest.current.onMutedChange?.(m)),
    ];
    latest.current.onPlayer?.(player);
    player.attach(video, streamId).catch(() => undefined); // failures arrive via onError/onState
    return () => {
      for (const off of offs) off();
      latest.current.onPlayer?.(null);
      playerRef.current = null;
      void player.destroy();
    };
  }, [streamId, apiBase, token, protocol, dtls, audio]);

  useEffect(() => {
    playerRef.current?.setMuted(muted);
  }, [muted]);

  return (
    <video
      ref={videoRef}
      className={props.className}
      style={props.style}
      autoPlay
      playsInline
      muted={muted}
      data-stream-id={streamId}
    />
  );
}

export default MediaSoupPlayerV2;
