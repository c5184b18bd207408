/**
 * VAS-MS browser client: REST V2 and V1 WebSocket signalling, and VasmsPlayer.
 * See docs/web-player.md.
 */

export * as apiV2 from './api-v2';
export type {
  ApiConfig,
  ClientDtlsParameters,
  ConnectRequest,
  ConsumeRequest,
  ConsumeResponse,
  ConsumerOut,
  ConsumerState,
  IceServerOut,
  RouterCapabilitiesOut,
  StreamCreate,
  StreamOut,
  StreamSource,
  StreamStatus,
  TokenResponse,
  TransportOut,
} from './api-v2';
export {
  connectTransport,
  consume,
  createStream,
  detachConsumer,
  getConsumer,
  getRouterCapabilities,
  getStream,
  listStreams,
  resumeConsumer,
  signIn,
  startStream,
  stopStream,
} from './api-v2';
export { V1Client, v1SocketUrl } from './api-v1';
export { type ViewerApi, restV2 } from './viewer-api';
export {
  type PreparedCertificate,
  canPregenerateCertificate,
  generateDtlsCertificate,
  sharedDtlsCertificate,
} from './certificate';
export {
  type Protocol,
  VasmsApiError,
  VasmsIceError,
  VasmsNetworkError,
  isNotLive,
  isRetryable,
  isV2Unavailable,
} from './errors';
export {
  type BackoffOptions,
  type DtlsMode,
  type FirstFrameInfo,
  type PlayerEvents,
  type PlayerState,
  type PlayerStats,
  type ProtocolChoice,
  type VasmsPlayerOptions,
  FirstFrameTimeout,
  RetryableError,
  VasmsPlayer,
} from './player';
