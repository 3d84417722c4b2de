import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { PushRequest, PushResponse } from '../protos.js';
import type { PushAnswer, PushRefusal, ReadMessages } from './serve-push.js';

/** What the gRPC service needs from push. */
export interface GrpcServiceOptions {
  /** Push's one request path (servePush), shared with the HTTP API. */
  readonly serve: (read: () => ReadMessages) => Promise<PushAnswer>;
  readonly requests: Counter<'api' | 'code'>;
  readonly logger: Logger;
}

/** The gRPC code of each refusal. */
const REFUSAL_CODES: Readonly<Record<PushRefusal['kind'], status>> = {
  invalid: status.INVALID_ARGUMENT,
  too_large: status.RESOURCE_EXHAUSTED,
  overloaded: status.UNAVAILABLE,
  fenced: status.UNAVAILABLE,
};

/**
 * The `imring.push.v1.Push` implementation: the same checks as `POST /v1/push`, an invalid
 * request is INVALID_ARGUMENT, an oversized one RESOURCE_EXHAUSTED, one beyond
 * `maxConcurrentRequests` or while the ring is fenced UNAVAILABLE.
 */
export function pushImplementation(options: GrpcServiceOptions): UntypedServiceImplementation {
  return {
    Push(call: ServerUnaryCall<PushRequest, PushResponse>, callback: sendUnaryData<PushResponse>): void {
      const answer = (code: status, outcome: { details?: string; response?: PushResponse }): void => {
        options.requests.inc({ api: 'grpc', code: status[code] });
        if (outcome.response !== undefined) callback(null, outcome.response);
        else callback({ code, details: outcome.details ?? '' });
      };
      options
        .serve(() => ({ ok: true, messages: call.request.messages ?? [], api: 'grpc' }))
        .then(
          (outcome) => {
            if (outcome.ok) answer(status.OK, { response: { results: outcome.results } });
            else answer(REFUSAL_CODES[outcome.error.kind], { details: outcome.error.message });
          },
          (error: unknown) => {
            options.logger.error({ err: error }, 'push gRPC request failed');
            answer(status.INTERNAL, { details: 'internal error' });
          },
        );
    },
  };
}
