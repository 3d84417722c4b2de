import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, methodNotAllowed, notFound, unsupportedMediaType } from '../errors.js';
import { patchObject, patchTypeOf } from '../patch/patch.js';
import { apiVersionOf, getPath, setPath } from './paths.js';
import { storageKey } from './resource-catalog.js';
import type { ResourceRoute } from '../http/router.js';
import { matchesFields, parseFieldSelector } from './field-selectors.js';
import { labelSelectorToString, matchesLabels, parseLabelSelector } from './selectors.js';
import type { KubeObject, ResourceType } from '../types.js';
import { POD_ACTIONS, PodSubresources } from './pod-subresources.js';
import { markDeleting, writeObject, type WriteContext, type WriteTarget } from './writes.js';
import { isDryRun, type OptionsKind } from './dry-run.js';
import { checkDeletable } from './namespace-lifecycle.js';
import { TEMPLATE_KINDS } from './workload-defaults.js';
import { isHpaV1, servedVersion, storedVersion } from './hpa-versions.js';

/** One API request for objects, as the HTTP layer hands it over. */
export interface ObjectRequest {
  readonly route: ResourceRoute;
  readonly query: URLSearchParams;
  readonly body: string;
  readonly contentType: string | undefined;
  readonly userAgent: string | undefined;
  /** Filled with `Warning` header texts. */
  readonly warnings: string[];
}

/** Deletions of objects with dependents wait for the garbage collector through these. */
const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

/**
 * The verbs on objects: get, list, create, update, patch, delete, deletecollection, and the
 * status and scale subresources. Watches are served by `../http/watch.ts`.
 */
export class ObjectService {
  readonly #target: WriteTarget;
  readonly #pods: PodSubresources;

  constructor(target: WriteTarget) {
    this.#target = target;
    this.#pods = new PodSubresources({
      target,
      deletePod: (route, options, query) => this.delete(route, options, query),
    });
  }

  /** Answers a non-watch request with its HTTP code; throws ApiError for anything refused. */
  handle(request: ObjectRequest): { code: number; object: KubeObject } {
    const { route } = request;
    if (route.type.kind === 'Pod' && !route.type.custom && POD_ACTIONS.has(route.subresource ?? '')) {
      return this.#pods.handle(route, parseBody(request.body), request.query);
    }
    const created = request.route.verb === 'create' || (request.route.verb === 'patch' && !this.#exists(request.route));
    const object = this.#handle(request);
    return { code: created && request.route.subresource === undefined ? 201 : 200, object };
  }

  #exists(route: ResourceRoute): boolean {
    return this.#target.store.get(storageKey(route.type), route.namespace ?? '', route.name ?? '') !== undefined;
  }

  #handle(request: ObjectRequest): KubeObject {
    const { route } = request;
    if (route.subresource !== undefined && route.subresource !== 'status' && route.subresource !== 'scale') {
      throw notFound(route.type, `${route.name}/${route.subresource}`);
    }
    if (route.subresource === 'scale') return this.#scale(request);
    switch (route.verb) {
      case 'get':
        return this.#served(route.type, this.#live(route));
      case 'list':
        return this.list(route.type, route.namespace, request.query);
      case 'create':
        return this.#served(
          route.type,
          writeObject(
            this.#target,
            this.#context(request),
            undefined,
            storedVersion(route.type, parseBody(request.body)),
          ),
        );
      case 'update':
        return this.#update(request, parseBody(request.body));
      case 'patch':
        return this.#patch(request);
      case 'delete':
        return this.#served(route.type, this.delete(route, parseOptional(request.body), request.query));
      case 'deletecollection':
        return this.#deleteCollection(request);
      default:
        throw methodNotAllowed(`${route.verb} is not supported here`);
    }
  }

  /** A list of `type` objects matching the query's selectors, paged by `limit`/`continue`. */
  list(type: ResourceType, namespace: string | undefined, query: URLSearchParams): KubeObject {
    const matches = this.matching(type, namespace, query);
    const limit = Number(query.get('limit') ?? 0);
    const after = decodeContinue(query.get('continue'));
    let items = after === undefined ? matches : matches.filter((o) => objectKey(o) > after);
    let next: string | undefined;
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      next = Buffer.from(JSON.stringify({ after: objectKey(items[items.length - 1]!) })).toString('base64url');
    }
    const remaining = next === undefined ? undefined : matches.length - matches.indexOf(items[items.length - 1]!) - 1;
    return {
      apiVersion: apiVersionOf(type),
      kind: type.listKind,
      metadata: {
        resourceVersion: String(this.#target.store.resourceVersion),
        ...(next ? { continue: next, remainingItemCount: remaining } : {}),
      },
      items: items.map((o) => this.#served(type, o)),
    };
  }

  /** Objects of `type` in `namespace` (all when undefined) that match the query's selectors. */
  matching(type: ResourceType, namespace: string | undefined, query: URLSearchParams): KubeObject[] {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '', type);
    return this.#target.store
      .list(storageKey(type), namespace)
      .filter((o) => matchesLabels(labels, o.metadata?.labels) && matchesFields(fields, o));
  }

  /**
   * Deletes one object: at once, or by marking it when finalizers (or a foreground/orphan
   * propagation) or a graceful pod shutdown must run first.
   */
  delete(route: ResourceRoute, options: DeleteOptions, query: URLSearchParams): KubeObject {
    const dryRun = isDryRun(query, 'DeleteOptions', options.dryRun);
    checkDeletable(route.type, route.name!);
    const live = this.#live(route);
    checkPreconditions(route.type, live, options);
    const extra = propagationFinalizer(options.propagationPolicy ?? query.get('propagationPolicy'));
    if ((live.metadata?.finalizers ?? []).length > 0 || extra !== undefined) {
      return markDeleting(this.#target, route.type, live, { ...(extra ? { finalizer: extra } : {}), dryRun });
    }
    const grace = route.type.kind === 'Pod' ? podGraceSeconds(live, options, query) : 0;
    if (grace > 0) return markDeleting(this.#target, route.type, live, { graceSeconds: grace, dryRun });
    // A dry run answers the object the real delete would remove, and cascades nothing.
    if (dryRun) return live;
    if (route.type.kind === 'Namespace') this.#emptyNamespace(live.metadata!.name!);
    if (route.type.kind === 'CustomResourceDefinition') this.#dropCrd(live);
    return this.#target.store.remove(storageKey(route.type), live.metadata?.namespace ?? '', live.metadata!.name!)!;
  }

  #deleteCollection(request: ObjectRequest): KubeObject {
    const { route } = request;
    const options = parseOptional(request.body);
    isDryRun(request.query, 'DeleteOptions', options.dryRun);
    const deleted = this.matching(route.type, route.namespace, request.query).map((o) =>
      this.delete({ ...route, name: o.metadata!.name!, namespace: o.metadata?.namespace }, options, request.query),
    );
    return {
      apiVersion: apiVersionOf(route.type),
      kind: route.type.listKind,
      metadata: { resourceVersion: String(this.#target.store.resourceVersion) },
      items: deleted,
    };
  }

  #update(request: ObjectRequest, body: KubeObject): KubeObject {
    const { type } = request.route;
    const live = this.#live(request.route);
    return this.#served(type, writeObject(this.#target, this.#context(request), live, storedVersion(type, body)));
  }

  #patch(request: ObjectRequest): KubeObject {
    const { route } = request;
    const type = patchTypeOf(request.contentType);
    if (!type || (type === 'strategic' && route.type.custom))
      throw unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${route.type.custom ? '' : ', application/strategic-merge-patch+json'}`,
      );
    const live = this.#target.store.get(storageKey(route.type), route.namespace ?? '', route.name!);
    if (!live && type !== 'apply') throw notFound(route.type, route.name!);
    const ctx = this.#context(request);
    const viewed = live && servedVersion(route.type, live);
    const patched = patchObject(viewed, request.body, type, {
      kind: route.type.kind,
      group: route.type.group,
      custom: route.type.custom,
      manager: ctx.fieldManager,
      force: request.query.get('force') === 'true',
      now: this.#target.now,
      ...(route.subresource ? { subresource: route.subresource } : {}),
    });
    if (!live) patched.metadata = { ...patched.metadata, name: route.name! };
    return this.#served(route.type, writeObject(this.#target, ctx, live, storedVersion(route.type, patched)));
  }

  #scale(request: ObjectRequest): KubeObject {
    const { route } = request;
    const spec = route.type.scale;
    if (!spec) throw notFound(route.type, `${route.name}/scale`);
    const live = this.#live(route);
    const current = scaleOf(route.type, live);
    if (route.verb === 'get') return current;
    let desired: KubeObject;
    if (route.verb === 'update') desired = parseBody(request.body);
    else if (route.verb === 'patch')
      desired = patchObject(current, request.body, patchTypeOf(request.contentType) === 'json' ? 'json' : 'merge', {
        kind: 'Scale',
        group: 'autoscaling',
        custom: true,
      });
    else throw methodNotAllowed(`${route.verb} is not supported on scale`);
    const replicas = (desired.spec as { replicas?: unknown } | undefined)?.replicas;
    if (!Number.isInteger(replicas) || (replicas as number) < 0) {
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      );
    }
    const next = structuredClone(live);
    setPath(next, spec.specReplicasPath, replicas);
    if (desired.metadata?.resourceVersion) next.metadata!.resourceVersion = desired.metadata.resourceVersion;
    const ctx = { ...this.#context(request), subresource: undefined };
    return scaleOf(route.type, writeObject(this.#target, ctx, live, next));
  }

  #live(route: ResourceRoute): KubeObject {
    const live = this.#target.store.get(storageKey(route.type), route.namespace ?? '', route.name!);
    if (!live) throw notFound(route.type, route.name!);
    return live;
  }

  #context(request: ObjectRequest): WriteContext {
    const { route, query } = request;
    const validation = query.get('fieldValidation') ?? 'Warn';
    if (validation !== 'Strict' && validation !== 'Warn' && validation !== 'Ignore') {
      throw badRequest(`fieldValidation must be one of "Ignore", "Warn" or "Strict", got ${validation}`);
    }
    return {
      type: this.#storageType(route.type),
      namespace: route.type.namespaced ? route.namespace : undefined,
      subresource: route.subresource === 'status' ? 'status' : undefined,
      fieldManager: query.get('fieldManager') ?? managerFromUserAgent(request.userAgent),
      fieldValidation: validation,
      dryRun: isDryRun(query, optionsKindOf(route.verb)),
      warnings: request.warnings,
    };
  }

  /** The type objects of `type` are written as: a built-in served in two versions is stored in one. */
  #storageType(type: ResourceType): ResourceType {
    return isHpaV1(type) ? this.#target.catalog.find(type.group, 'v2', type.plural)! : type;
  }

  /** The object as served at the route's version (each kind is stored once, in one version). */
  #served(type: ResourceType, object: KubeObject): KubeObject {
    if (!type.custom) return servedVersion(type, object);
    if (object.apiVersion === apiVersionOf(type)) return object;
    return { ...object, apiVersion: apiVersionOf(type) };
  }

  #emptyNamespace(namespace: string): void {
    const store = this.#target.store;
    for (const resource of store.resources()) {
      for (const object of store.list(resource, namespace)) store.remove(resource, namespace, object.metadata!.name!);
    }
  }

  #dropCrd(crd: KubeObject): void {
    const spec = crd.spec as { group: string; names: { plural: string } };
    const resource = storageKey({ group: spec.group, plural: spec.names.plural });
    for (const object of this.#target.store.list(resource)) {
      this.#target.store.remove(resource, object.metadata?.namespace ?? '', object.metadata!.name!);
    }
    this.#target.store.dropResource(resource);
    this.#target.catalog.removeCrd(crd.metadata!.name!);
  }
}

/** The finalizer a propagation policy puts on the owner until the garbage collector is done. */
function propagationFinalizer(policy: string | null): string | undefined {
  if (policy === 'Foreground') return FOREGROUND;
  return policy === 'Orphan' ? ORPHAN : undefined;
}

/** metav1.DeleteOptions, the parts this server honours. */
interface DeleteOptions {
  dryRun?: string[];
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

function checkPreconditions(type: ResourceType, live: KubeObject, options: DeleteOptions): void {
  const pre = options.preconditions;
  const name = live.metadata!.name!;
  if (pre?.uid && pre.uid !== live.metadata?.uid) {
    throw new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${type.plural} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata?.uid}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== live.metadata?.resourceVersion) {
    throw new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${type.plural} "${name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${live.metadata?.resourceVersion}`,
    );
  }
}

/** A bound pod's grace period (the kubelet finishes its delete); 0 for unbound pods, which go at once. */
function podGraceSeconds(pod: KubeObject, options: DeleteOptions, query: URLSearchParams): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  if (!spec.nodeName) return 0;
  const asked =
    options.gracePeriodSeconds ??
    (query.has('gracePeriodSeconds') ? Number(query.get('gracePeriodSeconds')) : undefined);
  const grace = asked ?? spec.terminationGracePeriodSeconds ?? 30;
  return Number.isFinite(grace) && grace > 0 ? grace : 0;
}

/** The autoscaling/v1 Scale of an object with a scale subresource. */
function scaleOf(type: ResourceType, object: KubeObject): KubeObject {
  const spec = type.scale!;
  const meta = object.metadata!;
  const selector = spec.labelSelectorPath
    ? getPath(object, spec.labelSelectorPath)
    : TEMPLATE_KINDS.has(type.kind)
      ? labelSelectorToString((object.spec as { selector?: unknown } | undefined)?.selector)
      : undefined;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: meta.name!,
      namespace: meta.namespace!,
      uid: meta.uid!,
      resourceVersion: meta.resourceVersion!,
      creationTimestamp: meta.creationTimestamp!,
    },
    spec: { replicas: getPath(object, spec.specReplicasPath) ?? 0 },
    status: {
      replicas: getPath(object, spec.statusReplicasPath) ?? 0,
      ...(typeof selector === 'string' && selector ? { selector } : {}),
    },
  };
}

/** The options a write verb's query decodes into (subresource writes included). */
function optionsKindOf(verb: string): OptionsKind {
  if (verb === 'create') return 'CreateOptions';
  return verb === 'patch' ? 'PatchOptions' : 'UpdateOptions';
}

/** The field manager of a write without `fieldManager`: the client's user agent up to the first `/`. */
function managerFromUserAgent(userAgent: string | undefined): string {
  const name = (userAgent ?? 'unknown').split('/')[0]!.trim();
  return name.slice(0, 128) || 'unknown';
}

function parseBody(body: string): KubeObject {
  let value: unknown;
  try {
    value = body.trimStart().startsWith('{') ? JSON.parse(body) : parseYaml(body);
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('the body of the request must be a JSON object');
  return value as KubeObject;
}

function parseOptional(body: string): DeleteOptions {
  return body.trim() === '' ? {} : (parseBody(body) as DeleteOptions);
}

function objectKey(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function decodeContinue(token: string | null): string | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: invalid continue token');
}
