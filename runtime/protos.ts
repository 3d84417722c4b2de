import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The repository's `proto/` folder, from `runtime/` or `dist/runtime/`. */
function protoRoot(): string {
  for (const up of ['../proto/', '../../proto/']) {
    const path = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${path}imring`)) return path;
  }
  throw new Error('proto/ not found next to the runtime');
}

/**
 * proto-loader options: field names in lowerCamelCase (`msgId`, `userIds`), uint64 as JS
 * numbers (ring versions and batch ids stay far below 2^53), enums as their names.
 */
const LOAD_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true } as const;

function load(file: string): GrpcObject {
  return loadPackageDefinition(loadSync(file, { ...LOAD_OPTIONS, includeDirs: [protoRoot()] }));
}

function service(root: GrpcObject, path: string[]): ServiceClientConstructor {
  let node: unknown = root;
  for (const part of path) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}

let gatewayClient: ServiceClientConstructor | undefined;
let pushClient: ServiceClientConstructor | undefined;

/** The `imring.gateway.v1.Gateway` client constructor (its `.service` is the definition). */
export function gatewayService(): ServiceClientConstructor {
  gatewayClient ??= service(load('imring/gateway/v1/gateway.proto'), ['imring', 'gateway', 'v1', 'Gateway']);
  return gatewayClient;
}

/** The `imring.push.v1.Push` client constructor (its `.service` is the definition). */
export function pushService(): ServiceClientConstructor {
  pushClient ??= service(load('imring/push/v1/push.proto'), ['imring', 'push', 'v1', 'Push']);
  return pushClient;
}

export type { ServiceDefinition };

/** imring.gateway.v1 messages as proto-loader gives them (see LOAD_OPTIONS). */
export type DeliveryStatus = 'DELIVERED' | 'NOT_HERE' | 'MIGRATED' | 'DELIVERY_STATUS_UNSPECIFIED';

export interface GatewayMessage {
  msgId: string;
  userIds: string[];
  payload: string;
  /** Platforms per user not to write to here (they got the message from the current owner). */
  skip?: UserPlatforms[];
}

export interface UserPlatforms {
  userId: string;
  platforms: string[];
}

export interface DeliverRequest {
  ringVersion: number;
  messages: GatewayMessage[];
  batchId: number;
}

export interface UserResult {
  msgId: string;
  userId: string;
  status: DeliveryStatus;
  connections: number;
  /** The platforms written to (DELIVERED only). */
  platforms?: string[];
}

export interface DeliverResponse {
  batchId: number;
  results: UserResult[];
  ringVersion: number;
  /** Connections of users the gateway does not own in the ring it serves, when it answered. */
  misplaced?: number;
}

export interface OnlineRequest {
  userIds: string[];
}

export interface UserPresence {
  userId: string;
  connections: number;
  platforms: string[];
}

export interface OnlineResponse {
  users: UserPresence[];
}

export interface KickRequest {
  userId: string;
}

export interface KickResponse {
  closed: number;
}

/** imring.push.v1 messages as proto-loader gives them. */
export interface PushMessage {
  msgId: string;
  toUserIds: string[];
  payload: string;
}

export interface PushRequest {
  messages: PushMessage[];
}

export interface PushResult {
  msgId: string;
  userId: string;
  status: 'realtime' | 'offline';
  via: '' | 'current' | 'previous' | 'handoff';
  reason: '' | 'not_connected' | 'gateway_error' | 'no_ring';
  connections: number;
}

export interface PushResponse {
  results: PushResult[];
}
