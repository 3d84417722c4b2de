import { badRequest } from '../errors.js';
import type { KubeObject, ResourceType } from '../types.js';
import type { RequestAttributes } from './attributes.js';
import type { UserInfo } from './authenticator.js';
import type { PolicyRule, RbacAuthorizer } from './rbac-authorizer.js';

const GROUP = 'authorization.k8s.io';

/** The authorization.k8s.io/v1 reviews this server answers: create only, nothing stored. */
export const REVIEW_TYPES: readonly ResourceType[] = [
  review('SelfSubjectAccessReview'),
  review('SubjectAccessReview'),
  review('SelfSubjectRulesReview'),
];

function review(kind: string): ResourceType {
  const plural = `${kind.toLowerCase()}s`;
  return {
    group: GROUP,
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames: [],
    categories: [],
    namespaced: false,
    verbs: ['create'],
    statusSubresource: false,
    printerColumns: [],
    custom: false,
  };
}

/** Whether `type` is one of {@link REVIEW_TYPES}. */
export function isReview(type: ResourceType): boolean {
  return type.group === GROUP && REVIEW_TYPES.some((t) => t.plural === type.plural);
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

interface ReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: { path?: string; verb?: string };
  user?: string;
  groups?: string[];
  uid?: string;
  namespace?: string;
}

/**
 * Answers a review created by `requester` with the same RBAC evaluator that authorizes
 * requests: `kubectl auth can-i` (SelfSubjectAccessReview, or SubjectAccessReview for
 * another user) and `kubectl auth can-i --list` (SelfSubjectRulesReview).
 */
export function answerReview(
  type: ResourceType,
  body: KubeObject,
  requester: UserInfo,
  rbac: RbacAuthorizer,
): KubeObject {
  const spec = (body.spec ?? {}) as ReviewSpec;
  const answered = { ...body, apiVersion: `${GROUP}/v1`, kind: type.kind, metadata: {} };
  if (type.kind === 'SelfSubjectRulesReview') {
    return { ...answered, status: rulesStatus(rbac.rulesFor(requester, spec.namespace ?? '')) };
  }
  const user = type.kind === 'SubjectAccessReview' ? subjectOf(spec) : requester;
  const decision = rbac.authorize(attributesOf(spec, user));
  return {
    ...answered,
    status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
  };
}

function subjectOf(spec: ReviewSpec): UserInfo {
  if (!spec.user && !(spec.groups ?? []).length) throw badRequest('at least one of user or group must be specified');
  return { username: spec.user ?? '', groups: spec.groups ?? [], ...(spec.uid ? { uid: spec.uid } : {}) };
}

function attributesOf(spec: ReviewSpec, user: UserInfo): RequestAttributes {
  const resource = spec.resourceAttributes;
  const nonResource = spec.nonResourceAttributes;
  if (!resource && !nonResource)
    throw badRequest('exactly one of nonResourceAttributes or resourceAttributes must be specified');
  const base = { user, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', path: '' };
  if (nonResource)
    return { ...base, resourceRequest: false, verb: nonResource.verb ?? '', path: nonResource.path ?? '' };
  return {
    ...base,
    resourceRequest: true,
    verb: resource!.verb ?? '',
    apiGroup: resource!.group ?? '',
    resource: resource!.resource ?? '',
    subresource: resource!.subresource ?? '',
    namespace: resource!.namespace ?? '',
    name: resource!.name ?? '',
  };
}

function rulesStatus(rules: readonly PolicyRule[]): Record<string, unknown> {
  const resourceRules = rules
    .filter((r) => !r.nonResourceURLs?.length)
    .map((r) => ({
      verbs: [...r.verbs],
      apiGroups: [...(r.apiGroups ?? [])],
      resources: [...(r.resources ?? [])],
      ...(r.resourceNames?.length ? { resourceNames: [...r.resourceNames] } : {}),
    }));
  const nonResourceRules = rules
    .filter((r) => r.nonResourceURLs?.length)
    .map((r) => ({ verbs: [...r.verbs], nonResourceURLs: [...r.nonResourceURLs!] }));
  return { resourceRules, nonResourceRules, incomplete: false };
}
