/**
 * The viewer's side of signalling, one shape for both protocols: REST V2
 * (`restV2`) and the V1 WebSocket (`V1Client`). The player only talks to this
 * interface, so falling back from V2 to V1 swaps one object for another.
 */

import type { types as ms } from 'mediasoup-client';

import * as v2 from './api-v2';
import type {
  ApiConfig,
  ConnectRequest,
  ConsumeRequest,
  ConsumeResponse,
  RouterCapabilitiesOut,
  StreamOut,
} from './api-v2';
import type { Protocol } from './errors';

export interface ViewerApi {
  readonly protocol: Protocol;
  /** Stream status, where the protocol has it (V1 has no such call). */
  getStream?(streamId: string): Promise<StreamOut>;
  getRouterCapabilities(streamId: string): Promise<RouterCapabilitiesOut>;
  /** Creates the receive transport and the consumer; with `dtls_parameters` also connects. */
  consume(streamId: string, body: ConsumeRequest): Promise<ConsumeResponse>;
  connectTransport(transportId: string, body: ConnectRequest): Promise<void>;
  resumeConsumer(consumerId: string): Promise<void>;
  /** Whether the consumer is still open on the server (`undefined`: can't tell). */
  consumerOpen?(consumerId: string): Promise<boolean | undefined>;
  /** Closes consumer and transport; `keepalive` for a page that is going away. */
  detachConsumer(consumerId: string, opts?: { keepalive?: boolean }): Promise<void>;
  /** Releases the signalling channel (the V1 socket); REST has nothing to release. */
  close(): void;
}

/** REST V2 behind the common shape. */
export function restV2(config: ApiConfig): ViewerApi {
  return {
    protocol: 'v2',
    getStream: (streamId) => v2.getStream(config, streamId),
    getRouterCapabilities: (streamId) => v2.getRouterCapabilities(config, streamId),
    consume: (streamId, body) => v2.consume(config, streamId, body),
    connectTransport: (transportId, body) => v2.connectTransport(config, transportId, body),
    resumeConsumer: (consumerId) => v2.resumeConsumer(config, consumerId),
    consumerOpen: async (consumerId) => {
      try {
        return (await v2.getConsumer(config, consumerId)).state !== 'closed';
      } catch (error) {
        if (error instanceof Error && 'status' in error && error.status === 404) return false;
        return undefined;
      }
    },
    detachConsumer: (consumerId, opts) => v2.detachConsumer(config, consumerId, opts),
    close: () => undefined,
  };
}

export type { ms };
