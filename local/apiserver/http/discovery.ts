/**
 * Discovery documents: the legacy per-group-version documents (`/api`, `/apis`, `/apis/<g>`,
 * `/api/v1`, `/apis/<g>/<v>`) and aggregated discovery (`apidiscovery.k8s.io/v2` and `v2beta1`
 * `APIGroupDiscoveryList` on `/api` and `/apis`), which client-go 1.32 asks for first.
 */
import type { ResourceType } from '../types.js';

/** The media type parameters of aggregated discovery, in the order client-go sends them. */
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=%V;as=APIGroupDiscoveryList';

/** Verbs a `status` subresource serves (the apiserver registers get, patch, update). */
const STATUS_VERBS = ['get', 'patch', 'update'];
/** Verbs a `scale` subresource serves. */
const SCALE_VERBS = ['get', 'patch', 'update'];

/** The subresources a pod has besides status: what the scheduler and `kubectl drain` look for. */
const POD_SUBRESOURCES: readonly Subresource[] = [
  { subresource: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
  { subresource: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
];

/** GET /api -> APIVersions {versions:['v1'], serverAddressByClientCIDRs}. */
export function legacyApiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** GET /apis -> APIGroupList: every named group (the core group is not listed), preferred version first. */
export function apiGroupList(types: ResourceType[]): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupNames(types).map((g) => groupEntry(types, g)) };
}

/** GET /apis/<g> -> APIGroup, or undefined when no type is served in that group. */
export function apiGroup(types: ResourceType[], group: string): Record<string, unknown> | undefined {
  if (group === '' || !types.some((t) => t.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(types, group) };
}

/** The types of `types` served at one group/version (empty: that group/version is not served). */
export function servedAt(types: readonly ResourceType[], group: string, version: string): ResourceType[] {
  return types.filter((t) => t.group === group && t.version === version);
}

/**
 * GET /api/v1 or /apis/<g>/<v> -> APIResourceList of `served` (the types of one group/version,
 * {@link servedAt}): one entry per resource and one per subresource (`statefulsets/status`,
 * `statefulsets/scale` as autoscaling/v1 Scale). Undefined when nothing is served there.
 */
export function apiResourceList(served: readonly ResourceType[]): Record<string, unknown> | undefined {
  const first = served[0];
  if (first === undefined) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(first.group, first.version),
    resources: served.flatMap(resourceEntries),
  };
}

/**
 * The aggregated discovery document for `/api` (the core group alone, as an item with no name)
 * or `/apis` (every named group), as apidiscovery.k8s.io/v2 (the default) or v2beta1: the two
 * versions share one shape.
 */
export function aggregatedDiscovery(
  types: ResourceType[],
  root: 'api' | 'apis',
  version: 'v2' | 'v2beta1' = 'v2',
): Record<string, unknown> {
  const groups = root === 'api' ? (types.some((t) => t.group === '') ? [''] : []) : groupNames(types);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((g) => groupDiscovery(types, g)),
  };
}

/**
 * Chooses the discovery format for a GET of /api or /apis from its Accept header: the first
 * acceptable media range wins. client-go 1.32 sends three ranges, comma-separated in this order:
 * `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`,
 * `application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList` and `application/json`,
 * and reads the aggregated form only if the response Content-Type carries the same g, v and as.
 */
export function negotiateDiscovery(
  accept: string | undefined,
): { aggregated: false } | { aggregated: true; version: 'v2' | 'v2beta1'; contentType: string } {
  for (const range of (accept ?? '').split(',')) {
    const { type, params } = parseMediaRange(range);
    if (
      type === 'application/json' &&
      params.get('g') === 'apidiscovery.k8s.io' &&
      params.get('as') === 'APIGroupDiscoveryList'
    ) {
      const v = params.get('v');
      if (v === 'v2' || v === 'v2beta1')
        return { aggregated: true, version: v, contentType: AGGREGATED.replace('%V', v) };
    }
    // Plain JSON (or anything) before an aggregated range means the client prefers the legacy form.
    if (type === 'application/json' && params.size === 0) return { aggregated: false };
    if (type === '*/*' || type === 'application/*') return { aggregated: false };
  }
  return { aggregated: false };
}

/**
 * Kube-aware version order (k8s.io/apimachinery version.CompareKubeAwareVersionStrings): v2 > v1 > v1beta2 > v1beta1 >
 * v1alpha1 > others.
 */
export function compareVersions(a: string, b: string): number {
  const ka = versionKey(a);
  const kb = versionKey(b);
  for (let i = 0; i < ka.length; i++) {
    const d = (kb[i] ?? 0) - (ka[i] ?? 0);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function versionKey(v: string): number[] {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return [0, 0, 0, 0];
  const stability = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
  return [1, stability, Number(m[1]), Number(m[3] ?? 0)];
}

function parseMediaRange(range: string): { type: string; params: Map<string, string> } {
  const [type = '', ...rest] = range.split(';').map((s) => s.trim());
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0)
      params.set(
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
  }
  params.delete('q');
  return { type: type.toLowerCase(), params };
}

function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Named groups in the order their first type appears. */
function groupNames(types: ResourceType[]): string[] {
  return [...new Set(types.map((t) => t.group).filter((g) => g !== ''))];
}

/** The group's versions, preferred (highest kube-aware) first. */
function versionsOf(types: ResourceType[], group: string): string[] {
  return [...new Set(types.filter((t) => t.group === group).map((t) => t.version))].sort(compareVersions);
}

function groupEntry(types: ResourceType[], group: string): Record<string, unknown> {
  const versions = versionsOf(types, group).map((v) => ({ groupVersion: groupVersion(group, v), version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

function resourceEntries(t: ResourceType): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: t.plural,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
    ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length > 0 ? { categories: t.categories } : {}),
  };
  const subs = subresources(t).map((s) => ({
    name: `${t.plural}/${s.subresource}`,
    singularName: '',
    namespaced: t.namespaced,
    ...(s.kind.group !== t.group || s.kind.version !== t.version
      ? { group: s.kind.group, version: s.kind.version }
      : {}),
    kind: s.kind.kind,
    verbs: s.verbs,
  }));
  return [main, ...subs];
}

interface Subresource {
  readonly subresource: string;
  readonly kind: { group: string; version: string; kind: string };
  readonly verbs: string[];
}

function subresources(t: ResourceType): Subresource[] {
  const own = { group: t.group, version: t.version, kind: t.kind };
  return [
    ...(t.statusSubresource ? [{ subresource: 'status', kind: own, verbs: STATUS_VERBS }] : []),
    ...(t.scale
      ? [{ subresource: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: SCALE_VERBS }]
      : []),
    ...(t.kind === 'Pod' && !t.custom ? POD_SUBRESOURCES : []),
  ];
}

function groupDiscovery(types: ResourceType[], group: string): Record<string, unknown> {
  const versions = versionsOf(types, group).map((version) => ({
    version,
    resources: servedAt(types, group, version).map(resourceDiscovery),
    freshness: 'Current',
  }));
  // The core group's item has no name: metadata is empty apart from what Go always writes.
  return { metadata: group === '' ? { creationTimestamp: null } : { name: group, creationTimestamp: null }, versions };
}

function resourceDiscovery(t: ResourceType): Record<string, unknown> {
  return {
    resource: t.plural,
    responseKind: { group: t.group, version: t.version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
    ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length > 0 ? { categories: t.categories } : {}),
    ...(subresources(t).length > 0
      ? {
          subresources: subresources(t).map((s) => ({
            subresource: s.subresource,
            responseKind: s.kind,
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}
