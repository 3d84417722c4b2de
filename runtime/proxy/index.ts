/** The proxy runtime: routes client websockets to the gateway that owns their user. */
export { startProxy, DEFAULTS, type Proxy, type ProxyOptions } from './proxy.js';
export {
  decideRoute,
  parseUpgrade,
  Rejections,
  type RouteDecision,
  type RouteResult,
  type Rejection,
  type UpgradeRequest,
} from './routing.js';
export { forwardedHead, httpResponse } from './http-text.js';
