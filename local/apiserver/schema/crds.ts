import type { StatusCause } from '../errors.js';
import { timestamp } from '../store/metadata.js';
import { checkStructuralSchema } from './schema.js';
import type { JSONSchemaProps, KubeObject, PrinterColumn, ResourceType, ScaleSubresource } from '../types.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const PLURAL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: { status?: object; scale?: ScaleSubresource };
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: {
    plural?: string;
    singular?: string;
    kind?: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions?: CrdVersion[];
}

function specOf(crd: KubeObject): CrdSpec {
  return crd.spec ?? {};
}

/** What the API server refuses in a CustomResourceDefinition, as field causes. */
export function crdCauses(crd: KubeObject): StatusCause[] {
  const spec = specOf(crd);
  const causes: StatusCause[] = [];
  const required = (field: string): void =>
    void causes.push({ reason: 'FieldValueRequired', field, message: 'Required value' });
  if (!spec.group) required('spec.group');
  else if (!spec.group.includes('.'))
    causes.push(invalidCause('spec.group', spec.group, 'should be a domain with at least one dot'));
  if (!spec.names?.plural) required('spec.names.plural');
  else if (!PLURAL.test(spec.names.plural))
    causes.push(
      invalidCause(
        'spec.names.plural',
        spec.names.plural,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
      ),
    );
  causes.push(...scopeAndNameCauses(crd, spec), ...versionCauses(spec.versions));
  return causes;
}

function scopeAndNameCauses(crd: KubeObject, spec: CrdSpec): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!spec.names?.kind)
    causes.push({ reason: 'FieldValueRequired', field: 'spec.names.kind', message: 'Required value' });
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    causes.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.scope',
      message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"`,
    });
  }
  const expected = `${spec.names?.plural ?? ''}.${spec.group ?? ''}`;
  if (crd.metadata?.name !== expected) {
    causes.push(invalidCause('metadata.name', crd.metadata?.name ?? '', 'must be spec.names.plural+"."+spec.group'));
  }
  return causes;
}

function versionCauses(versions: CrdVersion[] | undefined): StatusCause[] {
  if (!Array.isArray(versions) || versions.length === 0) {
    return [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.versions',
        message: 'Invalid value: null: must have exactly one version marked as storage version',
      },
    ];
  }
  const causes: StatusCause[] = [];
  if (versions.filter((v) => v.storage).length !== 1) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.versions',
      message: `Invalid value: ${JSON.stringify(versions.map((v) => v.name))}: must have exactly one version marked as storage version`,
    });
  }
  versions.forEach((v, i) => {
    const base = `spec.versions[${i}]`;
    const schema = v.schema?.openAPIV3Schema;
    if (schema === undefined)
      causes.push({
        reason: 'FieldValueRequired',
        field: `${base}.schema.openAPIV3Schema`,
        message: 'Required value: schemas are required',
      });
    else causes.push(...checkStructuralSchema(schema, `${base}.schema.openAPIV3Schema`));
    const scale = v.subresources?.scale;
    if (scale && !scale.specReplicasPath?.startsWith('.spec.'))
      causes.push(
        invalidCause(
          `${base}.subresources.scale.specReplicasPath`,
          scale.specReplicasPath ?? '',
          'should be a json path under .spec',
        ),
      );
    if (scale && !scale.statusReplicasPath?.startsWith('.status.'))
      causes.push(
        invalidCause(
          `${base}.subresources.scale.statusReplicasPath`,
          scale.statusReplicasPath ?? '',
          'should be a json path under .status',
        ),
      );
  });
  return causes;
}

function invalidCause(field: string, value: string, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}

/** The resources a valid CRD serves: one per served version. */
export function crdTypes(crd: KubeObject): ResourceType[] {
  const spec = specOf(crd);
  const names = spec.names!;
  const versions = spec.versions ?? [];
  const storage = versions.find((v) => v.storage)?.name;
  return versions
    .filter((v) => v.served)
    .map((v) => ({
      group: spec.group!,
      version: v.name,
      kind: names.kind!,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural!,
      singular: names.singular ?? names.kind!.toLowerCase(),
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      namespaced: spec.scope === 'Namespaced',
      verbs: ALL_VERBS,
      statusSubresource: v.subresources?.status !== undefined,
      ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
      ...(v.schema?.openAPIV3Schema ? { schema: v.schema.openAPIV3Schema } : {}),
      printerColumns: v.additionalPrinterColumns ?? [],
      custom: true,
      ...(storage ? { storageVersion: storage } : {}),
    }));
}

/** The status of an accepted CRD: names accepted, established, its stored versions. */
export function establishedStatus(crd: KubeObject, now: Date): Record<string, unknown> {
  const spec = specOf(crd);
  const previous = (crd.status ?? {}) as {
    storedVersions?: string[];
    conditions?: { type: string; lastTransitionTime: string }[];
  };
  const storage = spec.versions?.find((v) => v.storage)?.name;
  const stored = new Set(previous.storedVersions ?? []);
  if (storage) stored.add(storage);
  const since = (type: string): string =>
    previous.conditions?.find((c) => c.type === type)?.lastTransitionTime ?? timestamp(now);
  return {
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        lastTransitionTime: since('NamesAccepted'),
        reason: 'NoConflicts',
        message: 'no conflicts found',
      },
      {
        type: 'Established',
        status: 'True',
        lastTransitionTime: since('Established'),
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
    ],
    acceptedNames: {
      ...spec.names,
      listKind: spec.names?.listKind ?? `${spec.names?.kind}List`,
      singular: spec.names?.singular ?? spec.names?.kind?.toLowerCase(),
    },
    storedVersions: [...stored],
  };
}
