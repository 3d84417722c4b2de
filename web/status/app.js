/**
 * The status page: renders each Snapshot the server pushes on `/events` (server-sent events,
 * so the browser reconnects by itself and the server sends a fresh snapshot at connect) and
 * answers the user-ID box from `/api/owner`. Everything data-driven goes through textContent:
 * Event messages and names come from the cluster and are never parsed as markup.
 */
import { drawRing, percent } from './ring.js';

/** The transition's steps in order; the server sends the same names. */
const STEPS = ['Prepared', 'Acknowledged', 'Committed', 'Moved', 'Converged'];

const $ = (selector) => document.querySelector(selector);

/** The timeline last rendered, as JSON: it is an aria-live region, so it is replaced only when it changes. */
let shownTransition;

start();

function start() {
  renderTimeline(null);
  $('#owner-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void lookUpOwner(new FormData(event.target).get('user'));
  });
  const events = new EventSource('/events');
  events.addEventListener('snapshot', (event) => render(JSON.parse(event.data)));
  events.addEventListener('error', () => {
    // EventSource retries on its own; the next snapshot after reconnecting clears this.
    banner('reconnecting', 'Reconnecting to the status server…');
  });
}

/** Renders a whole Snapshot; each part replaces its own content, so a snapshot stands on its own. */
function render(snapshot) {
  $('#gateway').textContent = `${snapshot.namespace}/${snapshot.name}`;
  document.title = `imring ${snapshot.name}`;
  renderBanner(snapshot);
  const status = snapshot.status;
  const ring = status?.ring ?? null;
  $('#version').textContent = !isKnown(ring?.version) ? '-' : `v${ring.version}`;
  $('#state').textContent = ring?.state ?? '-';
  $('#phase').textContent = status?.phase ?? '-';
  $('#checksum').textContent = ring?.checksum ?? '-';
  drawRing($('#ring svg'), ring);
  $('#ring-caption').textContent = ringCaption(ring);
  renderMembers(ring, snapshot.ready ?? {});
  $('#misplaced-total').textContent = status ? `Misplaced connections: ${status.misplacedConnections}` : '';
  renderAcks(status);
  renderTimeline(snapshot.transition);
  renderEvents(snapshot.events ?? []);
  renderDelivery(snapshot.delivery);
  $('#updated').textContent = `Last update ${timeOf(snapshot.at)}.`;
}

function renderBanner(snapshot) {
  if (snapshot.connection.state !== 'live') {
    const why = snapshot.connection.message ? `: ${snapshot.connection.message}` : '';
    banner('reconnecting', `Reconnecting to the API server${why}`);
  } else if (snapshot.notFound) banner('not-found', `Not found: ${snapshot.notFound} (still watching)`);
  else if (snapshot.status && snapshot.status.ring.status !== 'ok')
    banner('warning', ringProblem(snapshot.status.ring));
  else banner('live', 'Live');
}

function banner(state, text) {
  const element = $('#connection');
  element.dataset.state = state;
  // Rewriting the same text would make screen readers announce the live region again.
  if (element.textContent !== text) element.textContent = text;
}

function ringProblem(ring) {
  if (ring.status === 'missing') return `Live, but ConfigMap ${ring.configMap} is missing`;
  return `Live, but ConfigMap ${ring.configMap} is refused: ${ring.error?.code}: ${ring.error?.message}`;
}

function ringCaption(ring) {
  if (ring === null) return 'No status yet.';
  if (ring.version === null) return `No valid ring in ConfigMap ${ring.configMap}.`;
  const previous = ring.previous ? `; previous v${ring.previous.version} (${ring.previous.members.length})` : '';
  return `v${ring.version}, ${ring.state}, ${ring.members.length} members, table ${ring.tableSize}${previous}`;
}

function renderMembers(ring, ready) {
  const rows = (ring?.members ?? []).map((member, i) => {
    const row = element('tr', {}, [
      element('th', { scope: 'row' }, [
        element('span', { class: `swatch slice-${i % 8}`, 'aria-hidden': 'true' }),
        member.name,
      ]),
      element('td', { class: 'mono' }, [member.host]),
      element('td', { class: 'num' }, [percent(member.share)]),
      element('td', { class: 'num' }, [orDash(member.connections)]),
      element('td', { class: 'num' }, [orDash(member.misplaced)]),
      readyCell(ready[member.name]),
    ]);
    row.dataset.member = member.name;
    return row;
  });
  $('#members tbody').replaceChildren(...rows);
}

function readyCell(ready) {
  if (ready === undefined) return element('td', {}, ['-']);
  return element('td', { class: ready ? 'ok' : 'bad' }, [ready ? 'Ready' : 'Not ready']);
}

function renderAcks(status) {
  const acks = status?.acknowledged;
  if (!acks) {
    $('#acks').replaceChildren(element('li', {}, ['No ring version to acknowledge.']));
    return;
  }
  const items = Object.entries(acks).map(([component, ack]) => {
    const laggards = ack.laggards.map((l) => `${l.pod} (${l.version === null ? 'no ring' : `v${l.version}`})`);
    const item = element('li', { class: ack.acked === ack.live ? 'ok' : 'pending' }, [
      element('strong', {}, [component]),
      ` ${ack.acked}/${ack.live} on v${status.ring.version}`,
      laggards.length > 0 ? `; laggards: ${laggards.join(', ')}` : '',
    ]);
    item.dataset.component = component;
    return item;
  });
  $('#acks').replaceChildren(...items);
}

function renderTimeline(transition) {
  const key = JSON.stringify(transition ?? null);
  if (key === shownTransition) return;
  shownTransition = key;
  const steps = new Map((transition?.steps ?? []).map((step) => [step.name, step]));
  $('#transition-summary').textContent = transitionSummary(transition);
  const items = STEPS.map((name) => {
    const step = steps.get(name);
    const done = isKnown(step?.at);
    const parts = [element('span', { class: 'step' }, [name])];
    if (done) parts.push(element('time', { datetime: step.at }, [timeOf(step.at)]));
    if (isKnown(step?.durationMs))
      parts.push(element('span', { class: 'duration' }, [`+${duration(step.durationMs)}`]));
    if (!done) parts.push(element('span', { class: 'waiting' }, ['pending']));
    const item = element('li', done ? { class: 'done' } : {}, parts);
    item.dataset.step = name;
    return item;
  });
  $('#timeline').replaceChildren(...items);
}

function transitionSummary(transition) {
  if (!transition) return 'No transition seen yet.';
  const from = transition.fromVersion === null ? '' : `v${transition.fromVersion} → `;
  const total = transition.steps.reduce((sum, step) => sum + (step.durationMs ?? 0), 0);
  return `${from}v${transition.version}${total > 0 ? `, ${duration(total)} so far` : ''}`;
}

function renderEvents(events) {
  if (events.length === 0) {
    $('#events').replaceChildren(element('li', { class: 'none' }, ['No recent events.']));
    return;
  }
  const items = events.map((event) =>
    element('li', { class: event.type === 'Warning' ? 'warning' : '' }, [
      element('time', event.lastTimestamp ? { datetime: event.lastTimestamp } : {}, [timeOf(event.lastTimestamp)]),
      ' ',
      element('strong', {}, [`${event.type} ${event.reason}`]),
      ` ${event.object}: `,
      event.message,
      event.count > 1 ? ` (×${event.count})` : '',
    ]),
  );
  $('#events').replaceChildren(...items);
}

function renderDelivery(delivery) {
  if (!delivery) {
    $('#delivery').replaceChildren('Delivery rates are shown where imring local runs the demo traffic.');
    return;
  }
  const reasons = Object.entries(delivery.offlineByReason).map(([reason, n]) => `${reason} ${n}`);
  const rows = [
    ['Realtime', `${delivery.realtimePerSecond.toFixed(0)}/s`],
    ['Offline', `${delivery.offlinePerSecond.toFixed(0)}/s`],
    ['Offline by reason', reasons.length > 0 ? reasons.join(', ') : '-'],
    ['Misrouted', String(delivery.misrouted)],
    ['Lost', String(delivery.lost)],
    ['Moves', `${delivery.movesPerSecond.toFixed(0)}/s`],
  ];
  const list = element(
    'dl',
    { class: 'facts' },
    rows.map(([term, value]) => element('div', {}, [element('dt', {}, [term]), element('dd', {}, [value])])),
  );
  $('#delivery').replaceChildren(list);
}

async function lookUpOwner(user) {
  const result = $('#owner-result');
  result.replaceChildren('Looking up…');
  try {
    const response = await fetch(`/api/owner?user=${encodeURIComponent(String(user ?? ''))}`);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const why = body.error ?? body.message ?? response.statusText;
      result.replaceChildren(element('p', { class: 'bad' }, [`Lookup failed (${response.status}): ${why}`]));
      return;
    }
    result.replaceChildren(
      element('dl', { class: 'facts' }, [
        owner('Current owner', body.current, `v${body.version} ${body.state}`),
        owner('Previous owner', body.previous, 'the version before'),
      ]),
    );
  } catch (error) {
    result.replaceChildren(element('p', { class: 'bad' }, [`Lookup failed: ${error.message}`]));
  }
}

function owner(term, value, note) {
  const text = value ? `${value.member} (${value.host}), ${note}` : 'none';
  return element('div', {}, [element('dt', {}, [term]), element('dd', { class: 'mono' }, [text])]);
}

/** An element with attributes and children (strings become text nodes, never markup). */
function element(tag, attributes, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) if (value) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function orDash(value) {
  return isKnown(value) ? String(value) : '-';
}

function isKnown(value) {
  return value !== null && value !== undefined;
}

function timeOf(iso) {
  if (!iso) return '-';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '-' : date.toLocaleTimeString();
}

function duration(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
