/** The imring client SDK: one websocket through the proxy, kept up with backoff. */
export { ImringClient, type ClientState, type ClientCloseEvent } from './client.js';
export { CLIENT_DEFAULTS, resolveClientOptions, type ClientOptions } from './options.js';
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
