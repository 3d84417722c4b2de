/** A CRD as its YAML would be written, as plain JSON (see `createRaw`). */
export interface CrdJson {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { group: string; scope: string; names: Record<string, unknown>; versions: Record<string, unknown>[] };
}

/** A generic CRD for the local control plane's tests (widgets.example.com), with status and scale. */
export function widgetCrd(): CrdJson {
  const schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['image'],
        properties: {
          replicas: { type: 'integer', minimum: 0, maximum: 1000, default: 1 },
          image: { type: 'string', pattern: '^[a-z0-9./:-]+$', maxLength: 100 },
          mode: { type: 'string', enum: ['fast', 'safe'], default: 'safe' },
          extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
      status: {
        type: 'object',
        properties: { replicas: { type: 'integer' }, selector: { type: 'string' }, phase: { type: 'string' } },
      },
    },
  };
  const version = (name: string, storage: boolean): Record<string, unknown> => ({
    name,
    served: true,
    storage,
    schema: { openAPIV3Schema: schema },
    subresources: {
      status: {},
      scale: {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
      },
    },
    additionalPrinterColumns: [
      { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wd'] },
      versions: [version('v1', true), version('v1beta1', false)],
    },
  };
}
