import { invalid } from '../errors.js';

/** The options object a verb's query (and, for deletes, body) decodes into, named in its 422. */
export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions';

/** The one `dryRun` value the API accepts (metav1.DryRunAll). */
const DRY_RUN_ALL = 'All';

/**
 * Whether a write is a server dry run: `dryRun=All` in the query or, for deletes, in the
 * DeleteOptions body (where kubectl puts it; the query wins when both have it, as the API
 * server decodes the query over the body). Any other value is refused as the API server's
 * option validation refuses it: 422 `DeleteOptions.meta.k8s.io "" is invalid: dryRun: …`.
 */
export function isDryRun(query: URLSearchParams, kind: OptionsKind, fromBody?: unknown): boolean {
  const values = query.has('dryRun') ? query.getAll('dryRun') : bodyValues(fromBody);
  if (values.some((v) => v !== DRY_RUN_ALL)) {
    const shown = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
    throw invalid({ group: 'meta.k8s.io', plural: kind, kind }, '', [
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${shown}: supported values: "${DRY_RUN_ALL}"`,
        field: 'dryRun',
      },
    ]);
  }
  return values.length > 0;
}

function bodyValues(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const values: unknown[] = Array.isArray(value) ? value : [value];
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}
