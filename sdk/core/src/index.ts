/**
 * @livepanel/core: the transport, queue and API every Livepanel SDK shares. Applications use
 * a platform package (`@livepanel/web`, `@livepanel/node`, `@livepanel/react-native`, …).
 */
export { checkProperties, type KeyValue, Livepanel, type LivepanelOptions, type Platform, randomId } from './client.ts';
export { type Post, type PostResult, type SocketLike, Transport, type TransportOptions, type TransportStats } from './transport.ts';
export type {
  AssignGroupPayload,
  BatchAnswer,
  ClientFrame,
  EventBody,
  GroupPayload,
  IdentifyPayload,
  IncrementPayload,
  Properties,
  ServerFrame,
  TrackPayload,
  WireEvent,
} from './wire.ts';
export { HTTP_BATCH, MAX_DEPTH, MAX_EVENT_BYTES, MAX_KEYS, WS_BATCH, WS_CLOSE_RESTART, WS_PATH } from './wire.ts';
