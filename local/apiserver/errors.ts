/**
 * API errors as the Kubernetes API server reports them: an HTTP code and a `meta/v1 Status`
 * body with a machine-readable reason, which client-node and kubectl both interpret.
 */

/** `Status.reason` values used here (k8s.io/apimachinery/pkg/apis/meta/v1 StatusReason). */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Expired'
  | 'ServiceUnavailable';

/** One field-level problem (`Status.details.causes[]`). */
export interface StatusCause {
  /** e.g. `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueTypeInvalid`. */
  readonly reason?: string;
  readonly message: string;
  /** The field path, e.g. `spec.replicas` or `spec.ports[0].port`. */
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** The `meta/v1 Status` object of a failed request. */
export interface StatusBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** An error the API answers with; anything else thrown by a handler becomes a 500. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The `Status` body for this error. */
  toStatus(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** What an error message calls a resource: `configmaps` or `widgets.example.com`. */
export interface ResourceName {
  readonly group: string;
  readonly plural: string;
  readonly kind: string;
}

function qualified(r: ResourceName): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** 404: `configmaps "x" not found`. */
export function notFound(r: ResourceName, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.plural });
}

/** 409: `configmaps "x" already exists`. */
export function alreadyExists(r: ResourceName, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.plural,
  });
}

/** 409: the object was modified since the resourceVersion the client sent. */
export function conflict(r: ResourceName, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group,
    kind: r.plural,
  });
}

/**
 * 422: `Widget.example.com "w" is invalid: [spec.replicas: Invalid value: …, …]`, the
 * message shape kubectl prints after `The `.
 */
export function invalid(r: ResourceName, name: string, causes: readonly StatusCause[]): ApiError {
  const what = r.group ? `${r.kind}.${r.group}` : r.kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const joined = list.length === 1 ? list[0]! : `[${list.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${what} "${name}" is invalid: ${joined}`, {
    name,
    group: r.group,
    kind: r.kind,
    causes,
  });
}

/** 400 with a message. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 410: a watch or list from a resourceVersion older than the kept history. */
export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/** 405 for a verb a resource does not support. */
export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

/** 415 for a body or patch type a resource does not accept. */
export function unsupportedMediaType(message: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', message);
}
