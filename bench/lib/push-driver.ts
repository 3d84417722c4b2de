/**
 * Drives pushes through the push gRPC API (`imring.push.v1.Push/Push`): closed loop with a
 * bounded number of calls in flight (throughput), or open loop at a steady rate (latency: each
 * message's payload is its {@link monotonicMs} send time, read back by the clients).
 *
 * The driver runs in a child process of its own (bench/lib/runtime-process.ts, role `driver`),
 * as an application server calling push would: grpc-js allocates tens of KiB per call, and in
 * the clients' process its collections delayed the frames being timed.
 */
import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { pushService, type PushMessage, type PushRequest, type PushResponse } from '../../runtime/protos.js';
import { seededRandom } from '../../test/support/random.js';

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

/** The push (or broadcast) gRPC endpoint and what every call carries (plain data: sent over IPC). */
export interface DriveTarget {
  readonly port: number;
  /** Users the recipients are drawn from. */
  readonly users: readonly string[];
  /** Recipients per call (one message each), drawn with `seed`. */
  readonly recipients: number;
  readonly seed: number;
}

/** How a driver drives: calls in flight (closed loop) or calls per second (open loop). */
export type DriveLoad =
  | { readonly kind: 'closed'; readonly concurrency: number }
  | { readonly kind: 'steady'; readonly callsPerSecond: number };

/**
 * Milliseconds of CLOCK_MONOTONIC, the clock `process.hrtime` reads: one clock for every
 * process on the machine, so a send time stamped by the driver is comparable in the clients'.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Starts driving `target` with `load` (in the driver process). */
export function drive(target: DriveTarget, load: DriveLoad): Drive {
  const messagesOf = recipientCycle(target.users, target.recipients, target.seed);
  return load.kind === 'closed'
    ? closedLoop(target.port, messagesOf, load.concurrency)
    : steadyRate(target.port, messagesOf, load.callsPerSecond);
}

type MessagesOf = (i: number, sentAtMs: number) => PushMessage[];

/** Messages of call `i`: `recipients` users each, drawn (seeded) from `users` once, in a cycle of 4096. */
export function recipientCycle(users: readonly string[], recipients: number, seed: number): MessagesOf {
  const random = seededRandom(seed);
  const lists = Array.from({ length: 4096 }, () => {
    const picked = new Set<string>();
    while (picked.size < recipients) picked.add(users[Math.floor(random() * users.length)]!);
    return [...picked];
  });
  return (i, sentAtMs) => [{ msgId: `m${i}`, toUserIds: lists[i % lists.length]!, payload: String(sentAtMs) }];
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
function closedLoop(port: number, messagesOf: MessagesOf, concurrency: number): Drive {
  const client = pushClient(port);
  const totals = newTotals();
  let stopped = false;
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (!stopped) await call(client, messagesOf(issued++, monotonicMs()), totals);
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
function steadyRate(port: number, messagesOf: MessagesOf, callsPerSecond: number): Drive {
  const client = pushClient(port);
  const totals = newTotals();
  const inFlight = new Set<Promise<void>>();
  const started = monotonicMs();
  let issued = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<DriveTotals> | undefined;
  const tick = (): void => {
    const due = Math.floor(((monotonicMs() - started) / 1000) * callsPerSecond);
    while (issued < due) {
      const pending = call(client, messagesOf(issued++, monotonicMs()), totals);
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
