import { parseIPv4 } from '../../ipv4.js';
import { ApiError, type StatusCause } from '../errors.js';
import type { KubeObject } from '../types.js';
import type { ServiceAddresses } from './service-addresses.js';

type Json = Record<string, unknown>;

/** `spec.clusterIP` of a headless Service. */
export const HEADLESS = 'None';

/** What allocating a Service's address needs to know. */
export interface ServiceAddressing {
  readonly addresses: ServiceAddresses;
  /** The addresses of the other stored Services. */
  readonly inUse: ReadonlySet<string>;
}

/**
 * The API server's Service rules past the defaults: only ClusterIP Services (headless ones
 * included) are served; a new Service gets a free address of the range, or the one it asks
 * for if that is in the range and free; an existing one keeps its address (an update that
 * leaves it out keeps it, one that changes it is refused, as a cluster refuses it). Sets
 * `spec.clusterIP` and `spec.clusterIPs` on `object`, which the caller owns; returns the
 * causes of a 422.
 * @throws ApiError 500 when the range is full, as the API server answers.
 */
export function serviceCauses(object: KubeObject, live: KubeObject | undefined, at: ServiceAddressing): StatusCause[] {
  const spec = (object.spec ?? {}) as Json;
  if (spec.type !== 'ClusterIP') return [unsupportedType(spec.type)];
  const requested = requestedAddress(spec);
  const liveAddress = (live?.spec as Json | undefined)?.clusterIP;
  if (typeof liveAddress === 'string' && liveAddress !== '') {
    if (requested === undefined) return setAddress(spec, liveAddress);
    return requested === liveAddress ? setAddress(spec, liveAddress) : immutable(requested);
  }
  if (requested === HEADLESS) return setAddress(spec, HEADLESS);
  if (requested !== undefined) return [...requestCauses(requested, at), ...setAddress(spec, requested)];
  const picked = at.addresses.pick(at.inUse);
  if (picked === undefined) {
    throw new ApiError(500, 'InternalError', 'Internal error occurred: failed to allocate a serviceIP: range is full');
  }
  return setAddress(spec, picked);
}

/** The addresses stored Services hold, but for `except` (the Service being written). */
export function addressesInUse(services: readonly KubeObject[], except: KubeObject): Set<string> {
  const inUse = new Set<string>();
  for (const service of services) {
    const meta = service.metadata;
    if (meta?.namespace === except.metadata?.namespace && meta?.name === except.metadata?.name) continue;
    const address = (service.spec as Json | undefined)?.clusterIP;
    if (typeof address === 'string' && address !== '' && address !== HEADLESS) inUse.add(address);
  }
  return inUse;
}

function requestedAddress(spec: Json): string | undefined {
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '') return spec.clusterIP;
  const first = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as unknown[])[0] : undefined;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

function setAddress(spec: Json, address: string): StatusCause[] {
  spec.clusterIP = address;
  spec.clusterIPs = [address];
  return [];
}

function requestCauses(requested: string, at: ServiceAddressing): StatusCause[] {
  const shown = `[]string{${JSON.stringify(requested)}}`;
  const failed = `Invalid value: ${shown}: failed to allocate IP ${requested}`;
  if (parseIPv4(requested) === undefined) {
    return [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.clusterIPs[0]',
        message: `Invalid value: ${JSON.stringify(requested)}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
      },
    ];
  }
  if (!at.addresses.contains(requested)) {
    const why = `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${at.addresses.range}`;
    return [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `${failed}: ${why}` }];
  }
  if (at.inUse.has(requested)) {
    return [
      { reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `${failed}: provided IP is already allocated` },
    ];
  }
  return [];
}

function immutable(requested: string): StatusCause[] {
  return [
    {
      reason: 'FieldValueInvalid',
      field: 'spec.clusterIP',
      message: `Invalid value: "${requested}": field is immutable`,
    },
    {
      reason: 'FieldValueInvalid',
      field: 'spec.clusterIPs[0]',
      message: `Invalid value: []string{"${requested}"}: may not change once set`,
    },
  ];
}

function unsupportedType(type: unknown): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    field: 'spec.type',
    message:
      `Unsupported value: ${JSON.stringify(type)}: supported values: "ClusterIP" ` +
      '(the local control plane serves ClusterIP and headless Services only)',
  };
}
