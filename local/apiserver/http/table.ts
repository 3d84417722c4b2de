/**
 * Server-side printing: the `meta.k8s.io/v1 Table` the API server returns when a client (kubectl
 * get) sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Pure: the clock comes in.
 */
import type { KubeObject, PrinterColumn, ResourceType } from '../types.js';
import { builtinColumns } from './builtin-columns.js';
import { AGE_DESCRIPTION, ageColumn, nameColumn, since, type ColumnDefinition, type TableColumn } from './columns.js';
import { findFirst } from './jsonpath.js';

export { humanDuration } from './columns.js';

/** Options of {@link toTable}. */
export interface TableOptions {
  /**
   * The `includeObject` query parameter; the server's default (absent) is `Metadata`. kubectl
   * 1.32 sends `Object` only when sorting (`--sort-by`) and otherwise relies on the metadata
   * (namespace for `-A`, labels for `--show-labels`/`-L`).
   */
  readonly includeObject: 'None' | 'Metadata' | 'Object';
  /** The time ages are measured to. */
  readonly now: Date;
  /** For lists: the list's resourceVersion and continue token. */
  readonly listMeta?: { resourceVersion: string; continue?: string };
}

/**
 * Renders objects as a meta.k8s.io/v1 Table (what the server returns for Accept:
 * application/json;as=Table;v=v1;g=meta.k8s.io).
 */
export function toTable(type: ResourceType, objects: KubeObject[], options: TableOptions): Record<string, unknown> {
  const columns = tableColumns(type);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: tableMetadata(objects, options.listMeta),
    columnDefinitions: columns.map((c) => ({ ...c.definition })),
    rows: objects.map((object) => tableRow(object, columns, options)),
  };
}

/**
 * The columns a resource prints. Custom resources: Name, then the CRD's additionalPrinterColumns,
 * or a lone Age column when it declares none (apiextensions-apiserver serveDefaultColumnsIfEmpty).
 * Built-ins: printers.go's columns; an unknown built-in uses its printerColumns like a CRD.
 */
export function tableColumns(type: ResourceType): readonly TableColumn[] {
  if (!type.custom) {
    const builtin = builtinColumns(type.group, type.plural);
    if (builtin) return builtin;
  }
  if (type.printerColumns.length === 0) return [nameColumn(), ageColumn()];
  return [nameColumn(), ...type.printerColumns.map(printerColumn)];
}

function tableMetadata(objects: KubeObject[], listMeta: TableOptions['listMeta']): Record<string, string> {
  if (listMeta) {
    return { resourceVersion: listMeta.resourceVersion, ...(listMeta.continue ? { continue: listMeta.continue } : {}) };
  }
  // A single-object GET carries that object's resourceVersion.
  const rv = objects.length === 1 ? objects[0]?.metadata?.resourceVersion : undefined;
  return rv ? { resourceVersion: rv } : {};
}

function tableRow(object: KubeObject, columns: readonly TableColumn[], options: TableOptions): Record<string, unknown> {
  const cells = columns.map((c) => c.cell(object, options.now) ?? null);
  switch (options.includeObject) {
    case 'None':
      return { cells };
    case 'Object':
      return { cells, object };
    default:
      return {
        cells,
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { ...object.metadata } },
      };
  }
}

/** A CRD additionalPrinterColumns entry as the apiextensions-apiserver table convertor renders it. */
function printerColumn(col: PrinterColumn): TableColumn {
  const isAge = col.name === 'Age' && col.type === 'date' && col.jsonPath === '.metadata.creationTimestamp';
  const definition: ColumnDefinition = {
    name: col.name,
    type: col.type,
    format: col.format ?? '',
    description:
      col.description ??
      (isAge ? AGE_DESCRIPTION : `Custom resource definition column (in JSONPath format): ${col.jsonPath}`),
    priority: col.priority ?? 0,
  };
  return { definition, cell: (object, now) => printerCell(col, findFirst(object, col.jsonPath), now) };
}

/**
 * tableconvertor.cellForJSONValue: a value of the wrong JSON type is an empty (null) cell, a date
 * is an age, strings print as client-go's jsonpath prints them.
 */
function printerCell(col: PrinterColumn, value: unknown, now: Date): unknown {
  if (value === undefined || value === null) return null;
  switch (col.type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? dateCell(value, now) : null;
    default:
      return jsonPathText(value);
  }
}

function dateCell(value: string, now: Date): string {
  return Number.isNaN(Date.parse(value)) ? '<invalid>' : since(value, now);
}

/** How client-go's jsonpath prints a value: strings bare, everything else as JSON. */
function jsonPathText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
