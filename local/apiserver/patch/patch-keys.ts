/**
 * How the lists of the built-in kinds merge: the `patchStrategy`/`patchMergeKey` struct tags of
 * k8s.io/api (which strategic merge patch reads), reused as the list types of server-side apply
 * (`+listType=map` with the same key, `+listType=set` for merged primitive lists). A field not
 * described here is a map that merges key by key or a list that is replaced whole (atomic).
 */

/** One field's merge behaviour, and the fields below it. */
export interface FieldShape {
  /** Known fields of this map (or of each element, for a list). */
  readonly fields?: Readonly<Record<string, FieldShape>>;
  /** A list merged element by element, matched on this field (`patchMergeKey`). */
  readonly mergeKey?: string;
  /** A list of primitives merged as a set (`patchStrategy:"merge"` on `[]string`). */
  readonly set?: boolean;
  /** `patchStrategy:"retainKeys"`: the field is a union, and the patch names the keys to keep. */
  readonly retainKeys?: boolean;
  /**
   * `+structType=atomic` / `+mapType=atomic`: apply owns and replaces the map whole (strategic
   * merge ignores this marker and merges it key by key, as apimachinery does).
   */
  readonly atomic?: boolean;
}

const atomic: FieldShape = { atomic: true };

const conditions: FieldShape = { mergeKey: 'type' };

const objectMeta: FieldShape = {
  fields: {
    ownerReferences: { mergeKey: 'uid' },
    finalizers: { set: true },
  },
};

const container: FieldShape = {
  fields: {
    ports: { mergeKey: 'containerPort' },
    env: { mergeKey: 'name' },
    volumeMounts: { mergeKey: 'mountPath' },
    volumeDevices: { mergeKey: 'devicePath' },
  },
};

const podSpec: FieldShape = {
  fields: {
    containers: { ...container, mergeKey: 'name' },
    initContainers: { ...container, mergeKey: 'name' },
    ephemeralContainers: { ...container, mergeKey: 'name' },
    volumes: { mergeKey: 'name', retainKeys: true },
    imagePullSecrets: { mergeKey: 'name' },
    hostAliases: { mergeKey: 'ip' },
    topologySpreadConstraints: { mergeKey: 'topologyKey' },
    resourceClaims: { mergeKey: 'name', retainKeys: true },
    schedulingGates: { mergeKey: 'name' },
    nodeSelector: atomic,
  },
};

const podStatus: FieldShape = {
  fields: {
    conditions,
    podIPs: { mergeKey: 'ip' },
    hostIPs: { mergeKey: 'ip' },
    resourceClaimStatuses: { mergeKey: 'name' },
  },
};

const podTemplateSpec: FieldShape = { fields: { metadata: objectMeta, spec: podSpec } };

const statusWithConditions: FieldShape = { fields: { conditions } };

/** Every object: metadata, and `status.conditions` keyed by type (metav1.Condition's tags). */
const generic: FieldShape = { fields: { metadata: objectMeta, status: statusWithConditions } };

function withFields(extra: Record<string, FieldShape>): FieldShape {
  return { fields: { ...generic.fields, ...extra } };
}

const workloadSpec = (extra: Record<string, FieldShape> = {}): FieldShape => ({
  fields: { template: podTemplateSpec, selector: atomic, ...extra },
});

/** Keyed by kind: the built-in kinds' names do not collide across groups. */
const SHAPES: Readonly<Record<string, FieldShape>> = {
  Pod: withFields({ spec: podSpec, status: podStatus }),
  PodTemplate: withFields({ template: podTemplateSpec }),
  ReplicationController: withFields({ spec: workloadSpec() }),
  Deployment: withFields({ spec: workloadSpec({ strategy: { retainKeys: true } }) }),
  StatefulSet: withFields({ spec: workloadSpec() }),
  DaemonSet: withFields({ spec: workloadSpec() }),
  ReplicaSet: withFields({ spec: workloadSpec() }),
  Job: withFields({ spec: workloadSpec() }),
  CronJob: withFields({ spec: { fields: { jobTemplate: { fields: { spec: workloadSpec() } } } } }),
  Service: withFields({ spec: { fields: { ports: { mergeKey: 'port' }, selector: atomic } } }),
  PodDisruptionBudget: withFields({ spec: { fields: { selector: atomic } } }),
  ServiceAccount: withFields({ secrets: { mergeKey: 'name' } }),
  // apiextensions types carry no patch tags: lists are replaced (CRD status conditions too).
  CustomResourceDefinition: { fields: { metadata: objectMeta } },
};

/**
 * The field shapes of a built-in kind, from its root. Kinds with no list keys of their own
 * (ConfigMap, Secret, Namespace, Event, Lease, PodDisruptionBudget, …) get the generic shape:
 * `metadata.ownerReferences` by uid, `metadata.finalizers` as a set, `status.conditions` by type.
 */
export function shapeOf(kind: string): FieldShape {
  return SHAPES[kind] ?? generic;
}

/** The shape of a custom resource: metadata only; every list atomic (no schema list types here). */
export function customShape(): FieldShape {
  return { fields: { metadata: objectMeta } };
}

/** The shape of `field` inside a map (or list element) of shape `parent`, if known. */
export function fieldShape(parent: FieldShape | undefined, field: string): FieldShape | undefined {
  return parent?.fields?.[field];
}
