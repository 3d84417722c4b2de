/* eslint-disable @typescript-eslint/no-unsafe-return -- documents are read as loose JSON, like the
   other no-unsafe-* rules the config turns off for tests */
/** Resource types, objects and a clock for the Table printer's tests (test/local/table*.test.ts). */
import { tableColumns, toTable } from '../../local/apiserver/http/table.js';
import type { KubeObject, ResourceType } from '../../local/apiserver/types.js';

/** The clock every table is printed at. */
export const NOW = new Date('2026-01-10T12:00:00Z');
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The ISO time `ms` before {@link NOW}. */
export function ago(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}

/** The IMGateway custom resource type, `over` merged over it. */
export function newType(over: Partial<ResourceType> = {}): ResourceType {
  return {
    group: 'imring.dev',
    version: 'v1alpha1',
    kind: 'IMGateway',
    listKind: 'IMGatewayList',
    plural: 'imgateways',
    singular: 'imgateway',
    shortNames: [],
    categories: [],
    namespaced: true,
    verbs: ['get', 'list'],
    statusSubresource: true,
    printerColumns: [],
    custom: true,
    ...over,
  };
}

/** IMGateway default/im, created 3 hours before {@link NOW}; `over` merged over it, `meta` over its metadata. */
export function newObject(over: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'imring.dev/v1alpha1',
    kind: 'IMGateway',
    metadata: { name: 'im', namespace: 'default', resourceVersion: '7', creationTimestamp: ago(3 * HOUR), ...meta },
    ...over,
  };
}

/** The Table of `objects` at {@link NOW}, as loose JSON. */
export function table(
  type: ResourceType,
  objects: KubeObject[],
  includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata',
): any {
  return toTable(type, objects, { includeObject, now: NOW }) as any;
}

/** The names of `type`'s columns. */
export function names(type: ResourceType): string[] {
  return tableColumns(type).map((c) => c.definition.name);
}

/** The cells of `object`'s row. */
export function cells(type: ResourceType, object: KubeObject): unknown[] {
  return table(type, [object]).rows[0].cells;
}
