import { applyBuiltinDefaults, builtinCauses } from './defaults.js';
import { crdCauses, crdTypes, establishedStatus } from '../schema/crds.js';
import { alreadyExists, badRequest, conflict, invalid, notFound, type StatusCause } from '../errors.js';
import { GENERATION_KINDS } from './builtins.js';
import { createdMeta, hasSpecChange, isNoop, nameCauses, timestamp, updatedMeta } from './metadata.js';
import { recordUpdate } from '../patch/patch.js';
import { apiVersionOf } from './paths.js';
import { storageKey, type ResourceCatalog } from './resource-catalog.js';
import { validateCustomResource, type FieldValidation } from '../schema/schema.js';
import { pruneBuiltinUnknown } from '../openapi/builtin-fields.js';
import type { ObjectStore } from './store.js';
import type { ServiceAddresses } from './service-addresses.js';
import { addressesInUse, serviceCauses, type ServiceAddressing } from './service-spec.js';
import type { KubeObject, ObjectMeta, ResourceType } from '../types.js';

/** What one write asks for, beyond the object. */
export interface WriteContext {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  /** `status` for status subresource writes; undefined for the main resource. */
  readonly subresource: 'status' | undefined;
  readonly fieldManager: string;
  readonly fieldValidation: FieldValidation;
  readonly dryRun: boolean;
  /** Warnings for the response's `Warning` headers. */
  readonly warnings: string[];
}

/** Where writes land, with what they need to know. */
export interface WriteTarget {
  readonly store: ObjectStore;
  readonly catalog: ResourceCatalog;
  readonly now: () => Date;
  /** The cluster's Service IP range. */
  readonly serviceAddresses: ServiceAddresses;
}

/**
 * The path every create, update and patch takes: checks the body, validates and defaults,
 * keeps what the server owns (system metadata, status or spec by subresource), bumps the
 * generation on spec changes, records field managers, and stores only real changes.
 */
export function writeObject(
  target: WriteTarget,
  ctx: WriteContext,
  live: KubeObject | undefined,
  next: KubeObject,
): KubeObject {
  checkKind(ctx.type, next);
  if (live) checkPreconditions(ctx.type, next, live);
  const prepared = live ? mergeForUpdate(ctx, live, next) : prepareCreate(target, ctx, next);
  const object = recordUpdate(live, withGeneration(live, validated(target, ctx, prepared, live)), ctx.fieldManager, {
    kind: ctx.type.kind,
    group: ctx.type.group,
    custom: ctx.type.custom,
    now: target.now,
    ...(ctx.subresource ? { subresource: ctx.subresource } : {}),
  });
  if (live && isNoop(live, object)) return live;
  if (ctx.dryRun) return object;
  return persist(target, ctx.type, live, object);
}

function withGeneration(live: KubeObject | undefined, object: KubeObject): KubeObject {
  const meta = object.metadata!;
  if (live && meta.generation !== undefined && hasSpecChange(live, object))
    meta.generation = (live.metadata?.generation ?? 0) + 1;
  return object;
}

function persist(
  target: WriteTarget,
  type: ResourceType,
  live: KubeObject | undefined,
  object: KubeObject,
): KubeObject {
  const meta = live?.metadata;
  if (
    meta?.deletionTimestamp &&
    (object.metadata?.finalizers ?? []).length === 0 &&
    !(meta.deletionGracePeriodSeconds ?? 0)
  ) {
    // The last finalizer is gone: the deletion the client asked for earlier completes now.
    // (A pod in its grace period stays until the kubelet deletes it with grace 0.)
    return target.store.remove(storageKey(type), meta.namespace ?? '', meta.name!) ?? live!;
  }
  const stored = target.store.put(storageKey(type), object);
  if (type.kind === 'CustomResourceDefinition' && type.group === 'apiextensions.k8s.io')
    return establishCrd(target, stored);
  return stored;
}

/** Refuses a body whose apiVersion or kind do not fit the request. */
function checkKind(type: ResourceType, next: KubeObject): void {
  const expected = apiVersionOf(type);
  const sameGroup = type.custom && next.apiVersion?.startsWith(`${type.group}/`) === true;
  if (next.apiVersion !== undefined && next.apiVersion !== expected && !sameGroup) {
    throw badRequest(
      `the API version in the data (${next.apiVersion}) does not match the expected API version (${expected})`,
    );
  }
  if (next.kind !== undefined && next.kind !== type.kind) {
    throw badRequest(`the kind in the data (${next.kind}) does not match the expected kind (${type.kind})`);
  }
}

/** Refuses a write to `live` whose name, resourceVersion or uid do not match it. */
function checkPreconditions(type: ResourceType, next: KubeObject, live: KubeObject): void {
  const name = live.metadata!.name!;
  if (next.metadata?.name !== undefined && next.metadata.name !== name) {
    throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
  }
  const rv = next.metadata?.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== live.metadata!.resourceVersion) {
    throw conflict(
      type,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  }
  if (next.metadata?.uid !== undefined && next.metadata.uid !== live.metadata!.uid) {
    throw conflict(
      type,
      name,
      `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${live.metadata!.uid}`,
    );
  }
}

function prepareCreate(target: WriteTarget, ctx: WriteContext, next: KubeObject): KubeObject {
  const type = ctx.type;
  const object: KubeObject = structuredClone(next);
  object.apiVersion = apiVersionOf(type);
  object.kind = type.kind;
  const requested = object.metadata?.namespace;
  if (ctx.namespace !== undefined && requested !== undefined && requested !== '' && requested !== ctx.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const generation = type.custom || GENERATION_KINDS.has(type.kind);
  object.metadata = createdMeta(object.metadata ?? {}, { namespace: ctx.namespace, now: target.now(), generation });
  if (type.statusSubresource && type.custom) delete object.status;
  checkCreatable(target, ctx, object.metadata);
  return object;
}

/** Refuses a create with a bad name, into a missing namespace, or over an existing object. */
function checkCreatable(target: WriteTarget, ctx: WriteContext, meta: ObjectMeta): void {
  const causes = nameCauses(ctx.type, meta.name);
  if (causes.length > 0) throw invalid(ctx.type, meta.name ?? meta.generateName ?? '', causes);
  if (ctx.namespace !== undefined && !target.store.get('/namespaces', '', ctx.namespace)) {
    throw notFound({ group: '', plural: 'namespaces', kind: 'Namespace' }, ctx.namespace);
  }
  if (target.store.get(storageKey(ctx.type), ctx.namespace ?? '', meta.name!))
    throw alreadyExists(ctx.type, meta.name!);
}

function mergeForUpdate(ctx: WriteContext, live: KubeObject, next: KubeObject): KubeObject {
  if (ctx.subresource === 'status') {
    // A status write changes status and nothing else.
    const object = structuredClone(live);
    if (next.status === undefined) delete object.status;
    else object.status = structuredClone(next.status);
    return object;
  }
  const object: KubeObject = structuredClone(next);
  object.apiVersion = live.apiVersion;
  object.kind = live.kind;
  object.metadata = updatedMeta(object.metadata ?? {}, live.metadata!);
  if (ctx.type.statusSubresource) {
    if (live.status === undefined) delete object.status;
    else object.status = structuredClone(live.status);
  }
  return object;
}

function validated(
  target: WriteTarget,
  ctx: WriteContext,
  object: KubeObject,
  live: KubeObject | undefined,
): KubeObject {
  const type = ctx.type;
  let result = object;
  const causes: StatusCause[] = [];
  if (type.custom && type.schema) {
    const checked = validateCustomResource(type.schema, object, { fieldValidation: ctx.fieldValidation });
    result = checked.object;
    causes.push(...checked.causes);
    reportUnknownFields(ctx, checked.unknownFields);
  } else if (!type.custom) {
    const pruned = pruneBuiltinUnknown(type, object);
    reportUnknownFields(ctx, pruned.unknownFields);
    result = applyBuiltinDefaults(type.kind, pruned.object);
    causes.push(...builtinCauses(type.kind, result));
    if (type.kind === 'Service') causes.push(...serviceCauses(result, live, addressing(target, result)));
    if (type.kind === 'CustomResourceDefinition') causes.push(...crdCauses(result));
  }
  if (causes.length > 0) throw invalid(type, (live ?? object).metadata?.name ?? '', causes);
  return result;
}

function addressing(target: WriteTarget, service: KubeObject): ServiceAddressing {
  const services = target.store.list('/services');
  return { addresses: target.serviceAddresses, inUse: addressesInUse(services, service) };
}

function reportUnknownFields(ctx: WriteContext, fields: readonly string[]): void {
  if (fields.length === 0 || ctx.fieldValidation === 'Ignore') return;
  if (ctx.fieldValidation === 'Strict') {
    const list = fields.map((f) => `unknown field "${f}"`).join(', ');
    const { kind, version } = ctx.type;
    throw badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: strict decoding error: ${list}`);
  }
  for (const f of fields) ctx.warnings.push(`unknown field "${f}"`);
}

function establishCrd(target: WriteTarget, crd: KubeObject): KubeObject {
  const name = crd.metadata!.name!;
  target.catalog.setCrd(name, crdTypes(crd));
  const status = establishedStatus(crd, target.now());
  const withStatus = { ...structuredClone(crd), status };
  if (isNoop(crd, withStatus)) return crd;
  return target.store.put('apiextensions.k8s.io/customresourcedefinitions', withStatus);
}

/** Marks an object deleted-in-progress (finalizers pending), or returns it unchanged if already. */
export function markDeleting(
  target: WriteTarget,
  type: ResourceType,
  live: KubeObject,
  mark: DeletionMark,
): KubeObject {
  const object = structuredClone(live);
  const meta = object.metadata!;
  const finalizers = new Set(meta.finalizers ?? []);
  if (mark.finalizer) finalizers.add(mark.finalizer);
  if (meta.deletionTimestamp && finalizers.size === (meta.finalizers ?? []).length) return live;
  meta.finalizers = [...finalizers];
  const grace = mark.graceSeconds ?? 0;
  // As the API server: the deletion is due at now + grace; the kubelet finishes it earlier.
  meta.deletionTimestamp ??= timestamp(new Date(target.now().getTime() + grace * 1000));
  meta.deletionGracePeriodSeconds ??= grace;
  return mark.dryRun ? object : target.store.put(storageKey(type), object);
}

/** How an object is marked for deletion. */
export interface DeletionMark {
  /** A finalizer to add (foreground or orphan propagation). */
  readonly finalizer?: string;
  /** The grace period a bound pod's containers get, in seconds. Default 0. */
  readonly graceSeconds?: number;
  /** Answer the marked object without storing it (`dryRun=All`). Default false. */
  readonly dryRun?: boolean;
}
