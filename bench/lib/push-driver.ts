/**
 * Drives pushes through the push gRPC API (`imring.push.v1.Push/Push`): closed loop with a
 * bounded number of calls in flight (throughput), or open loop at a steady rate (latency: each
 * message's payload is its `performance.now()` send time, read back by the clients).
 */
import { performance } from 'node:perf_hooks';
import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { pushService, type PushMessage, type PushRequest, type PushResponse } from '../../runtime/protos.js';

type PushClient = Client & {
  Push(request: PushRequest, callback: (error: ServiceError | null, response?: PushResponse) => void): void;
};

/** Counts of a drive, over its whole run. */
export interface DriveTotals {
  calls: number;
  /** (message, user) results answered realtime / offline, and calls that failed. */
  realtime: number;
  offline: number;
  errors: number;
}

/** A running drive; `stop()` stops issuing calls and resolves once the last one is answered. */
export interface Drive {
  readonly totals: DriveTotals;
  stop(): Promise<DriveTotals>;
}

/** The push (or broadcast) gRPC endpoint and what every call carries. */
export interface DriveTarget {
  readonly port: number;
  /** The messages of call number `i`, given the send time (ms, `performance.now()`). */
  readonly messagesOf: (i: number, sentAtMs: number) => PushMessage[];
}

/** A gRPC client of the push API on 127.0.0.1:`port`. */
function pushClient(port: number): PushClient {
  const Constructor = pushService();
  return new Constructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as PushClient;
}

function call(client: PushClient, messages: PushMessage[], totals: DriveTotals): Promise<void> {
  return new Promise((resolve) => {
    client.Push({ messages }, (error, response) => {
      totals.calls++;
      if (error || response === undefined) totals.errors++;
      else {
        for (const result of response.results) {
          if (result.status === 'realtime') totals.realtime++;
          else totals.offline++;
        }
      }
      resolve();
    });
  });
}

function newTotals(): DriveTotals {
  return { calls: 0, realtime: 0, offline: 0, errors: 0 };
}

/** Keeps `concurrency` calls in flight until stopped. */
export function closedLoop(target: DriveTarget, concurrency: number): Drive {
  const client = pushClient(target.port);
  const totals = newTotals();
  let stopped = false;
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (!stopped) await call(client, target.messagesOf(issued++, performance.now()), totals);
  };
  const workers = Promise.all(Array.from({ length: concurrency }, worker));
  let stopping: Promise<DriveTotals> | undefined;
  return {
    totals,
    stop() {
      stopped = true;
      stopping ??= workers.then(() => {
        client.close();
        return totals;
      });
      return stopping;
    },
  };
}

/** Timer period of the open loop, in ms: each tick issues the calls that are due. */
const TICK_MS = 1;

/** Issues `callsPerSecond` calls, spread evenly (per 1 ms tick), until stopped. */
export function steadyRate(target: DriveTarget, callsPerSecond: number): Drive {
  const client = pushClient(target.port);
  const totals = newTotals();
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let issued = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<DriveTotals> | undefined;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - started) / 1000) * callsPerSecond);
    while (issued < due) {
      const pending = call(client, target.messagesOf(issued++, performance.now()), totals);
      inFlight.add(pending);
      void pending.then(() => inFlight.delete(pending));
    }
    if (stopping === undefined) timer = setTimeout(tick, TICK_MS);
  };
  tick();
  return {
    totals,
    stop() {
      clearTimeout(timer);
      timer = undefined;
      stopping ??= Promise.all(inFlight).then(() => {
        client.close();
        return totals;
      });
      return stopping;
    },
  };
}
