import type { MessageTable } from './field-table.js';

/**
 * A pod's volumes (k8s.io/api core/v1), in the notation of {@link MessageTable}: the in-tree
 * sources a pod on one machine can use (host path, empty dir, claims, config maps, secrets,
 * projections, the downward API). The cloud and network volume sources have no table: their
 * field numbers are refused, not dropped.
 */
export const VOLUME_MESSAGES: MessageTable = {
  Volume: { 1: 'name string', 2: '...VolumeSource' },
  VolumeSource: {
    1: 'hostPath HostPathVolumeSource',
    2: 'emptyDir EmptyDirVolumeSource',
    6: 'secret SecretVolumeSource',
    10: 'persistentVolumeClaim PersistentVolumeClaimVolumeSource',
    16: 'downwardAPI DownwardAPIVolumeSource',
    19: 'configMap ConfigMapVolumeSource',
    26: 'projected ProjectedVolumeSource',
  },
  HostPathVolumeSource: { 1: 'path string', 2: 'type *string' },
  EmptyDirVolumeSource: { 1: 'medium string', 2: 'sizeLimit Quantity' },
  PersistentVolumeClaimVolumeSource: { 1: 'claimName string', 2: 'readOnly bool' },
  KeyToPath: { 1: 'key string', 2: 'path string', 3: 'mode *int32', 4: 'user *int64' },
  SecretVolumeSource: {
    1: 'secretName string',
    2: 'items []KeyToPath',
    3: 'defaultMode *int32',
    4: 'optional *bool',
    5: 'defaultUser *int64',
  },
  ConfigMapVolumeSource: {
    1: '...LocalObjectReference',
    2: 'items []KeyToPath',
    3: 'defaultMode *int32',
    4: 'optional *bool',
    5: 'defaultUser *int64',
  },
  DownwardAPIVolumeSource: { 1: 'items []DownwardAPIVolumeFile', 2: 'defaultMode *int32', 3: 'defaultUser *int64' },
  DownwardAPIVolumeFile: {
    1: 'path string',
    2: 'fieldRef ObjectFieldSelector',
    3: 'resourceFieldRef ResourceFieldSelector',
    4: 'mode *int32',
    5: 'user *int64',
  },
  ProjectedVolumeSource: { 1: 'sources []VolumeProjection', 2: 'defaultMode *int32', 3: 'defaultUser *int64' },
  VolumeProjection: {
    1: 'secret SecretProjection',
    2: 'downwardAPI DownwardAPIProjection',
    3: 'configMap ConfigMapProjection',
    4: 'serviceAccountToken ServiceAccountTokenProjection',
  },
  SecretProjection: { 1: '...LocalObjectReference', 2: 'items []KeyToPath', 4: 'optional *bool' },
  ConfigMapProjection: { 1: '...LocalObjectReference', 2: 'items []KeyToPath', 4: 'optional *bool' },
  DownwardAPIProjection: { 1: 'items []DownwardAPIVolumeFile' },
  ServiceAccountTokenProjection: {
    1: 'audience string',
    2: 'expirationSeconds *int64',
    3: 'path string',
    4: 'user *int64',
  },
};
