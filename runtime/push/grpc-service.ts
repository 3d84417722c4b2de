import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { PushMessage, PushRequest, PushResponse, PushResult } from '../protos.js';
import type { RequestGate } from './request-gate.js';
import { checkMessages, type RequestLimits } from './validate.js';

/** What the gRPC service needs from push. */
export interface GrpcServiceOptions {
  readonly limits: RequestLimits;
  /** Requests served at once, shared with the HTTP API; beyond: UNAVAILABLE (retry). */
  readonly gate: RequestGate;
  readonly push: (messages: PushMessage[]) => Promise<PushResult[]>;
  readonly requests: Counter<'api' | 'code'>;
  readonly logger: Logger;
}

/**
 * The `imring.push.v1.Push` implementation: the same checks as `POST /v1/push`, an invalid
 * request is INVALID_ARGUMENT, an oversized one RESOURCE_EXHAUSTED, one beyond
 * `maxConcurrentRequests` UNAVAILABLE.
 */
export function pushImplementation(options: GrpcServiceOptions): UntypedServiceImplementation {
  return {
    Push(call: ServerUnaryCall<PushRequest, PushResponse>, callback: sendUnaryData<PushResponse>): void {
      const answer = (code: status, outcome: { details?: string; response?: PushResponse }): void => {
        options.requests.inc({ api: 'grpc', code: status[code] });
        if (outcome.response !== undefined) callback(null, outcome.response);
        else callback({ code, details: outcome.details ?? '' });
      };
      const admission = options.gate.enter();
      if (!admission.ok) {
        answer(status.UNAVAILABLE, { details: admission.message });
        return;
      }
      const release = admission.release;
      const checked = checkMessages(call.request.messages ?? [], options.limits, 'grpc');
      if (!checked.ok) {
        release();
        answer(checked.error.kind === 'invalid' ? status.INVALID_ARGUMENT : status.RESOURCE_EXHAUSTED, { details: checked.error.message });
        return;
      }
      options.push(checked.messages).then(
        (results) => {
          release();
          answer(status.OK, { response: { results } });
        },
        (error: unknown) => {
          release();
          options.logger.error({ err: error }, 'push gRPC request failed');
          answer(status.INTERNAL, { details: 'internal error' });
        },
      );
    },
  };
}
