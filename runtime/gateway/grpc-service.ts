import {
  Server,
  ServerCredentials,
  status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  gatewayService,
  type DeliverRequest,
  type DeliverResponse,
  type KickRequest,
  type KickResponse,
  type OnlineRequest,
  type OnlineResponse,
} from '../protos.js';

/** The operations behind `imring.gateway.v1.Gateway`; synchronous, over the connection table. */
export interface GatewayOperations {
  deliver(request: DeliverRequest): DeliverResponse;
  online(request: OnlineRequest): OnlineResponse;
  kick(request: KickRequest): KickResponse;
}

/** The grpc-js implementation of `imring.gateway.v1.Gateway` over `operations`. */
export function gatewayImplementation(operations: GatewayOperations, logger: Logger): UntypedServiceImplementation {
  return {
    Deliver: unary((request: DeliverRequest) => operations.deliver(request), logger),
    Online: unary((request: OnlineRequest) => operations.online(request), logger),
    Kick: unary((request: KickRequest) => operations.kick(request), logger),
    DeliverStream(call: ServerDuplexStream<DeliverRequest, DeliverResponse>) {
      call.on('data', (request: DeliverRequest) => {
        let response: DeliverResponse;
        try {
          response = operations.deliver(request);
        } catch (error) {
          logger.error({ err: error }, 'DeliverStream batch failed');
          call.emit('error', { code: status.INTERNAL, details: (error as Error).message });
          return;
        }
        // Backpressure (STYLE.md): stop reading requests while the peer is not reading answers.
        if (!call.write(response)) {
          call.pause();
          call.once('drain', () => call.resume());
        }
      });
      call.on('end', () => call.end());
      call.on('error', (error) => logger.debug({ err: error }, 'DeliverStream ended by the peer'));
    },
  };
}

function unary<Req, Res>(handle: (request: Req) => Res, logger: Logger) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    try {
      callback(null, handle(call.request));
    } catch (error) {
      logger.error({ err: error }, 'gateway RPC failed');
      callback({ code: status.INTERNAL, details: (error as Error).message });
    }
  };
}

/** A started gRPC server. */
export interface GrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `implementation` on `host:port` (0: any free port), without TLS (in-cluster traffic). */
export async function startGrpcServer(options: {
  host: string;
  port: number;
  implementation: UntypedServiceImplementation;
}): Promise<GrpcServer> {
  const server = new Server();
  server.addService(gatewayService().service, options.implementation);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      // Callers drain before closing; what is still in flight now is cancelled.
      closing ??= Promise.resolve().then(() => server.forceShutdown());
      return closing;
    },
  };
}
