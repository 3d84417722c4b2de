/**
 * Child-process entry of bench/abuse.ts: `stack` runs a gateway, a proxy and a push
 * (test/support/abuse.ts) with the abuse limits; `abusers` runs bench/lib/abusers.ts against
 * it until told to stop, then reports. Exits when told to, or when its parent goes away.
 *
 * Usage (by bench/abuse.ts): `node dist/bench/lib/abuse-process.js '<AbuseChild JSON>'` with IPC.
 */
import { startAbuseStack, type StackLimits } from '../../test/support/abuse.js';
import { startAbusers, type AbusePlan, type AbuseReport, type StackPorts } from './abusers.js';

export type AbuseChild = { readonly role: 'stack'; readonly limits: StackLimits } | { readonly role: 'abusers'; readonly ports: StackPorts; readonly plan: AbusePlan };

/** Child → parent. */
export type AbuseChildMessage = { readonly type: 'ready'; readonly ports?: StackPorts } | { readonly type: 'report'; readonly report: AbuseReport } | { readonly type: 'failed'; readonly error: string };

function send(message: AbuseChildMessage): void {
  process.send?.(message);
}

async function main(config: AbuseChild): Promise<void> {
  if (config.role === 'stack') {
    const stack = await startAbuseStack(config.limits);
    process.once('message', () => void stack.close().then(() => process.exit(0)));
    send({ type: 'ready', ports: { proxy: stack.proxy.port, gateway: stack.gateway.ports.ws, push: stack.push.ports.http } });
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
