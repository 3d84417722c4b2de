import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { ringConfigMapName } from '../../ring/index.js';
import type { EventView } from './snapshot.js';

/** What the web view shows of pods and Events (pure). */

/** Pod name → Ready, for the pods of `gateway` (terminating pods are not Ready). */
export function readyByPod(pods: readonly V1Pod[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const pod of pods) {
    const name = pod.metadata?.name;
    if (!name) continue;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    out[name] = ready && !pod.metadata?.deletionTimestamp;
  }
  return out;
}

/**
 * The newest `limit` Events about gateway `name`: its IMGateway, its ring ConfigMap, and the
 * pods and StatefulSet named after it (`<name>` and `<name>-<ordinal>`).
 */
export function recentEvents(events: readonly CoreV1Event[], name: string, limit: number): EventView[] {
  const podName = new RegExp(`^${escapeRegExp(name)}-\\d+$`);
  const about = (kind: string, object: string): boolean =>
    (kind === 'IMGateway' && object === name) ||
    (kind === 'ConfigMap' && object === ringConfigMapName(name)) ||
    (kind === 'StatefulSet' && object === name) ||
    (kind === 'Pod' && podName.test(object));
  return events
    .filter((e) => about(e.involvedObject?.kind ?? '', e.involvedObject?.name ?? ''))
    .map((e) => ({ event: e, time: eventTime(e) }))
    .sort((a, b) => b.time - a.time)
    .slice(0, limit)
    .map(({ event, time }) => eventView(event, time));
}

function eventView(event: CoreV1Event, time: number): EventView {
  return {
    type: event.type ?? 'Normal',
    reason: event.reason ?? '',
    message: event.message ?? '',
    count: event.count ?? event.series?.count ?? 1,
    lastTimestamp: time > 0 ? new Date(time).toISOString() : null,
    object: `${event.involvedObject?.kind ?? ''}/${event.involvedObject?.name ?? ''}`,
  };
}

/** The Event's latest time in ms (events.k8s.io writers set eventTime and series, core ones lastTimestamp). */
function eventTime(event: CoreV1Event): number {
  const candidates = [event.lastTimestamp, event.series?.lastObservedTime, event.eventTime, event.firstTimestamp];
  for (const time of candidates) {
    if (time === undefined || time === null) continue;
    const ms = time instanceof Date ? time.getTime() : Date.parse(String(time));
    if (!Number.isNaN(ms)) return ms;
  }
  return 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
