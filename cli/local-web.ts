import type { KubeConfig } from '@kubernetes/client-node';
import type { DemoTraffic } from './demo/traffic.js';
import { SAMPLE } from './local-system.js';
import { StatusServer } from './web/status-server.js';
import type { DeliverySnapshot } from './web/snapshot.js';

/** Where `imring local` serves the web view unless `--web-port` says otherwise. */
export const LOCAL_WEB_PORT = 8090;

/** The web view `imring local` serves, and the demo traffic it reports once there is some. */
export interface LocalWebView {
  readonly url: string;
  /** Hands the demo's traffic to the view (its delivery figures); undefined: none. */
  setTraffic(traffic: DemoTraffic | undefined): void;
  close(): Promise<void>;
}

/**
 * Serves the web view of the sample IMGateway on 127.0.0.1:`port`; when that port is taken,
 * says so through `warn` and takes any free one rather than failing `imring local`.
 */
export async function startLocalWebView(
  kc: KubeConfig,
  port: number,
  warn: (line: string) => void,
): Promise<LocalWebView> {
  let traffic: DemoTraffic | undefined;
  const serve = async (at: number): Promise<{ server: StatusServer; url: string }> => {
    const server = new StatusServer({
      kc,
      namespace: SAMPLE.namespace,
      name: SAMPLE.name,
      port: at,
      delivery: () => deliverySnapshot(traffic),
    });
    try {
      return { server, url: (await server.start()).url };
    } catch (error) {
      await server.close();
      throw error;
    }
  };
  let served;
  try {
    served = await serve(port);
  } catch (error) {
    if (port === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    warn(`port ${port} is taken; serving the web view on any free port instead`);
    served = await serve(0);
  }
  const { server, url } = served;
  return { url, setTraffic: (t) => (traffic = t), close: () => server.close() };
}

/** The demo's delivery figures as the web view shows them (rates per second, the rest settled totals). */
export function deliverySnapshot(traffic: DemoTraffic | undefined): DeliverySnapshot | undefined {
  if (!traffic) return undefined;
  const { rates } = traffic;
  const totals = traffic.ledger.totals;
  return {
    realtimePerSecond: rates.realtimePerSecond,
    offlinePerSecond: rates.offlinePerSecond,
    offlineByReason: { ...totals.offlineByReason },
    misrouted: totals.misrouted,
    lost: totals.lost,
    movesPerSecond: rates.movesPerSecond,
  };
}
