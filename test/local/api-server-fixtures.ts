/** Objects the local API server's tests create (test/local/api-server*.test.ts). */
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';

/** ConfigMap `name` with `data` and, when given, `labels`. */
export function configMap(
  name: string,
  data: Record<string, string> = { a: '1' },
  labels?: Record<string, string>,
): V1ConfigMap {
  return { metadata: { name, ...(labels ? { labels } : {}) }, data };
}

/** StatefulSet `name` of `replicas` (app=name, one container `main`). */
export function statefulSet(name: string, replicas = 1): V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      replicas,
      serviceName: `${name}-headless`,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'example/server:1' }] },
      },
    },
  };
}
