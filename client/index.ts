/** The imring client SDK: one websocket through the proxy, kept up with backoff, moved make-before-break. */
export { ImringClient, type ClientState, type ClientCloseEvent, type ClientMoveEvent } from './client.js';
export { CLIENT_DEFAULTS, resolveClientOptions, type ClientOptions, type MigrateMode } from './options.js';
export {
  backoffDelay,
  closeAction,
  immediateDelay,
  moveRetryDelay,
  parseFrame,
  type CloseAction,
  type ParsedFrame,
  type ReconnectPolicy,
  type ServerMessage,
} from './policy.js';
