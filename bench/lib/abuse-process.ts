/**
 * Child-process entry of bench/abuse.ts: `gateway`, `proxy` and `push` each run one runtime
 * with the abuse limits (as in a cluster, each in its own process: one's load does not stall
 * another's event loop), the proxy and push routing to the gateway; `abusers` runs
 * bench/lib/abusers.ts against them until told to stop, then reports. Exits when told to, or
 * when its parent goes away.
 *
 * Usage (by bench/abuse.ts): `node dist/bench/lib/abuse-process.js '<AbuseChild JSON>'` with IPC.
 */
import { startAbuseRuntime, type StackLimits } from '../../test/support/abuse.js';
import { startAbusers, type AbusePlan, type AbuseReport, type StackPorts } from './abusers.js';

/** The gateway's ports, which the proxy and push route to. */
export interface GatewayPorts {
  readonly ws: number;
  readonly grpc: number;
}

export type AbuseChild =
  | { readonly role: 'gateway'; readonly limits: StackLimits }
  | { readonly role: 'proxy' | 'push'; readonly limits: StackLimits; readonly gateway: GatewayPorts }
  | { readonly role: 'abusers'; readonly ports: StackPorts; readonly plan: AbusePlan };

/** Child → parent: a runtime reports the port it serves on (the gateway: ws and gRPC). */
export type AbuseChildMessage =
  | { readonly type: 'ready'; readonly ports?: { readonly main: number; readonly grpc?: number } }
  | { readonly type: 'report'; readonly report: AbuseReport }
  | { readonly type: 'failed'; readonly error: string };

function send(message: AbuseChildMessage): void {
  process.send?.(message);
}

async function main(config: AbuseChild): Promise<void> {
  if (config.role !== 'abusers') {
    const runtime = await startAbuseRuntime(
      config.role,
      config.limits,
      config.role === 'gateway' ? undefined : config.gateway,
    );
    process.once('message', () => void runtime.close().then(() => process.exit(0)));
    send({ type: 'ready', ports: runtime.ports });
    return;
  }
  const abusers = startAbusers(config.ports, config.plan);
  process.once('message', () => void abusers.stop().then((report) => send({ type: 'report', report })));
  send({ type: 'ready' });
}

process.once('disconnect', () => process.exit(0));
main(JSON.parse(process.argv[2] ?? '{}') as AbuseChild).catch((error: unknown) => {
  send({ type: 'failed', error: String((error as Error).stack ?? error) });
  process.exit(1);
});
