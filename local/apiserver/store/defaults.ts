import type { StatusCause } from '../errors.js';
import type { KubeObject } from '../types.js';
import { defaultPodSpec } from './pod-defaults.js';
import { defaultDeployment, defaultReplicaSet, workloadCauses } from './workload-defaults.js';
import { defaultHpa, hpaCauses } from './hpa-spec.js';

type Json = Record<string, unknown>;

/**
 * Applies the defaults the real API server gives built-in kinds (the subset a client of
 * this server can observe), on create and on update. Mutates and returns `object`, which the
 * caller owns. A Service's address is not a default: see `serviceCauses` in service-spec.ts.
 */
export function applyBuiltinDefaults(kind: string, object: KubeObject): KubeObject {
  switch (kind) {
    case 'Namespace':
      object.status = { phase: 'Active', ...(object.status as Json | undefined) };
      break;
    case 'Pod':
      defaultPodSpec(record(object, 'spec'));
      object.status = { phase: 'Pending', qosClass: 'BestEffort', ...(object.status as Json | undefined) };
      break;
    case 'StatefulSet':
      defaultStatefulSet(object);
      break;
    case 'Deployment':
    case 'ReplicaSet':
      defaultTemplateKind(kind, object);
      break;
    case 'Service':
      defaultService(record(object, 'spec'));
      object.status ??= { loadBalancer: {} };
      break;
    case 'Secret':
      defaultSecret(object);
      break;
    case 'HorizontalPodAutoscaler':
      defaultHpa(object);
      break;
  }
  return object;
}

/** Checks the few built-in rules whose violation would otherwise go unnoticed. */
export function builtinCauses(kind: string, object: KubeObject): StatusCause[] {
  return kind === 'HorizontalPodAutoscaler' ? hpaCauses(object) : workloadCauses(kind, object);
}

function defaultStatefulSet(object: KubeObject): void {
  const spec = record(object, 'spec');
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
  spec.revisionHistoryLimit ??= 10;
  spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
  const template = record(spec, 'template');
  defaultPodSpec(record(template, 'spec'));
  object.status ??= { replicas: 0, availableReplicas: 0 };
}

function defaultTemplateKind(kind: string, object: KubeObject): void {
  const spec = record(object, 'spec');
  if (kind === 'Deployment') defaultDeployment(spec);
  else defaultReplicaSet(spec);
  defaultPodSpec(record(record(spec, 'template'), 'spec'));
  object.status ??= {};
}

function defaultService(spec: Json): void {
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.internalTrafficPolicy ??= 'Cluster';
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports as Json[]) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
  }
}

function defaultSecret(object: KubeObject): void {
  object.type ??= 'Opaque';
  const stringData = object.stringData as Record<string, string> | undefined;
  if (!stringData) return;
  const data = (object.data ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  object.data = data;
  delete object.stringData;
}

function record(parent: Json, field: string): Json {
  const value = parent[field];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  const fresh: Json = {};
  parent[field] = fresh;
  return fresh;
}
