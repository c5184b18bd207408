/**
 * <MediaSoupPlayerV2>: a React wrapper of VasmsPlayer.
 *
 *   <MediaSoupPlayerV2 streamId={id} apiBase="" token={token}
 *                      onStats={(s) => setFps(s.fps)} />
 *
 * A new player is made when streamId, apiBase, token, protocol or dtls change;
 * callbacks may change on every render without re-attaching (read through a ref).
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
  muted?: boolean;
  className?: string;
  style?: CSSProperties;
  /** Further VasmsPlayer options (backoff, timeouts, log). */
  options?: Omit<VasmsPlayerOptions, 'apiBase' | 'token' | 'protocol' | 'dtls' | 'muted'>;
  onStateChange?: (state: PlayerState, previous: PlayerState) => void;
  onStats?: (stats: PlayerStats) => void;
  onFirstFrame?: (info: FirstFrameInfo) => void;
  onProtocol?: (protocol: Protocol) => void;
  onError?: (error: Error) => void;
  /** The player itself, for imperative use (reconnect, stats); null on unmount. */
  onPlayer?: (player: VasmsPlayer | null) => void;
}

export function MediaSoupPlayerV2(props: MediaSoupPlayerV2Props): ReactElement {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const { streamId, apiBase, token, protocol = 'auto', dtls = 'auto', muted = true } = props;

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    const player = new VasmsPlayer({
      ...latest.current.options,
      apiBase,
      token,
      protocol,
      dtls,
      muted,
    });
    const offs = [
      player.on('state', (s, p) => latest.current.onStateChange?.(s, p)),
      player.on('stats', (s) => latest.current.onStats?.(s)),
      player.on('firstframe', (i) => latest.current.onFirstFrame?.(i)),
      player.on('protocol', (p) => latest.current.onProtocol?.(p)),
      player.on('error', (e) => latest.current.onError?.(e)),
    ];
    latest.current.onPlayer?.(player);
    player.attach(video, streamId).catch(() => undefined); // failures arrive via onError/onState
    return () => {
      for (const off of offs) off();
      latest.current.onPlayer?.(null);
      void player.destroy();
    };
  }, [streamId, apiBase, token, protocol, dtls, muted]);

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
