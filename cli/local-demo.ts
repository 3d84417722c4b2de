/**
 * The part of `imring local` after the control plane is up: install imring and the sample
 * IMGateway, write the env file, drive demo traffic, and show the live view until stopped.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import type { LocalCluster } from '../local/cluster.js';
import { ClusterReader } from './cluster.js';
import { CLEAR, formatView, movesText } from './demo/view.js';
import { DemoTraffic, type TrafficOptions } from './demo/traffic.js';
import { write, type CliIo } from './io.js';
import type { LocalWebView } from './local-web.js';
import { installImring, SAMPLE, writeEnvFile } from './local-system.js';
import { observe } from './status.js';
import { formatStatus } from './status-view.js';

export interface DemoOptions {
  readonly cluster: LocalCluster;
  readonly io: CliIo;
  /** Resolves with the signal's name when the user stops `imring local`. */
  readonly stopped: Promise<string>;
  /** Undefined: no traffic (--no-demo). */
  readonly traffic: Pick<TrafficOptions, 'users' | 'messagesPerSecond' | 'plainShare'> | undefined;
  /** Seconds between summary lines when stdout is not a terminal. Default 5. */
  readonly summarySeconds?: number;
  /** The web view: its URL goes to the env file, the traffic's delivery figures to it. */
  readonly web?: LocalWebView | undefined;
}

/** Refresh period of the live view, ms. */
const VIEW_MS = 1000;
/** A (message, user) pair is settled this long after it was sent: receipts arrive well within. */
const SETTLE_MS = 5000;
/** Defaults of {@link DemoOptions}. */
export const DEMO_DEFAULTS = { summarySeconds: 5 } as const;

/** Runs until `options.stopped` resolves; stops the traffic cleanly (the caller closes the cluster). */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { cluster, io } = options;
  const progress = (line: string): void => void io.stderr.write(`imring local: ${line}\n`);
  const installed = await Promise.race([
    installImring(cluster, { onProgress: progress }),
    options.stopped.then(() => undefined),
  ]);
  if (installed === undefined) return;
  const envFile = await writeEnvFile(cluster, { ...installed, webUrl: options.web?.url });
  const web = options.web ? ', IMRING_WEB_URL' : '';
  progress(`imring is up; ${envFile} has KUBECONFIG, IMRING_PROXY_URL, IMRING_PUSH_URL, IMRING_TOKEN_SECRET${web}`);
  let traffic: DemoTraffic | undefined;
  if (options.traffic) {
    traffic = new DemoTraffic({
      proxyUrl: installed.proxyUrl,
      pushUrl: installed.pushUrl,
      tokenSecret: installed.tokenSecret,
      ...options.traffic,
    });
    progress(`connecting ${options.traffic.users} simulated users through the proxy`);
    if ((await Promise.race([traffic.connect().then(() => 'connected'), options.stopped])) !== 'connected')
      return await traffic.close();
    traffic.start();
    options.web?.setTraffic(traffic);
  }
  const view = new LiveView(cluster, io, traffic, {
    users: options.traffic?.users ?? 0,
    summarySeconds: options.summarySeconds ?? DEMO_DEFAULTS.summarySeconds,
  });
  try {
    await Promise.race([view.run(), options.stopped]);
  } finally {
    view.stop();
    options.web?.setTraffic(undefined);
    progress('stopping the demo traffic');
    await traffic?.close();
  }
  if (traffic) {
    traffic.ledger.settle(Number.POSITIVE_INFINITY);
    const t = traffic.ledger.totals;
    progress(
      `demo totals: ${t.pairs} (message, user) pairs, ${t.received} received, ${t.offline} offline, ${t.misrouted} misrouted, ${t.lost} lost, ${t.duplicates} duplicates; ${movesText(t)}`,
    );
  }
}

/** Redraws the view every second (a TTY), or prints one summary line every `summarySeconds` (a pipe). */
class LiveView {
  readonly #cluster: LocalCluster;
  readonly #io: CliIo;
  readonly #traffic: DemoTraffic | undefined;
  readonly #users: number;
  readonly #summarySeconds: number;
  readonly #reader: ClusterReader;
  readonly #core: CoreV1Api;
  readonly #startedMs = Date.now();
  #stopped = false;

  constructor(
    cluster: LocalCluster,
    io: CliIo,
    traffic: DemoTraffic | undefined,
    view: { users: number; summarySeconds: number },
  ) {
    this.#cluster = cluster;
    this.#io = io;
    this.#traffic = traffic;
    this.#users = view.users;
    this.#summarySeconds = view.summarySeconds;
    this.#reader = new ClusterReader(cluster.kc, SAMPLE.namespace);
    this.#core = cluster.kc.makeApiClient(CoreV1Api);
  }

  async run(): Promise<void> {
    const tty = (this.#io.stdout as { isTTY?: boolean }).isTTY === true;
    for (let tick = 0; !this.#stopped; tick++) {
      this.#traffic?.ledger.settle(Date.now() - SETTLE_MS);
      if (tty) await write(this.#io.stdout, CLEAR + (await this.#render()));
      else if (tick % this.#summarySeconds === 0) await write(this.#io.stdout, `${this.#summary()}\n`);
      await new Promise((resolve) => setTimeout(resolve, VIEW_MS));
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  async #render(): Promise<string> {
    let status: string;
    try {
      status = formatStatus(await observe(this.#reader, SAMPLE.name, await this.#reader.imGateway(SAMPLE.name)));
    } catch (error) {
      status = `(status unavailable: ${(error as Error).message})`;
    }
    const traffic = this.#traffic;
    return formatView({
      status,
      events: await this.#events(),
      kubeconfig: this.#cluster.kubeconfigPath,
      gateway: SAMPLE.name,
      elapsedSeconds: (Date.now() - this.#startedMs) / 1000,
      ...(traffic
        ? { traffic: { rates: traffic.rates, totals: traffic.ledger.totals, ...traffic.counts, users: this.#users } }
        : {}),
    });
  }

  #summary(): string {
    const t = this.#traffic;
    if (!t) return `imring local: up ${Math.round((Date.now() - this.#startedMs) / 1000)}s`;
    const totals = t.ledger.totals;
    return `imring local: ${t.counts.connected}/${this.#users} connected, ${t.rates.realtimePerSecond.toFixed(0)} realtime/s, ${t.rates.offlinePerSecond.toFixed(0)} offline/s, settled ${totals.pairs}, misrouted ${totals.misrouted}, lost ${totals.lost}; ${movesText(totals)}`;
  }

  async #events(): Promise<string[]> {
    try {
      const events = (await this.#core.listNamespacedEvent({ namespace: SAMPLE.namespace })).items.filter(
        (e) => e.involvedObject.name === SAMPLE.name,
      );
      events.sort((a, b) => new Date(a.lastTimestamp ?? 0).getTime() - new Date(b.lastTimestamp ?? 0).getTime());
      return events
        .slice(-6)
        .map(
          (e) => `${new Date(e.lastTimestamp ?? 0).toISOString().slice(11, 19)} ${e.type} ${e.reason}: ${e.message}`,
        );
    } catch {
      return [];
    }
  }
}
