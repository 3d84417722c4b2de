/** Builders for the patch tests: small built-in objects and a patch context. */

import type { PatchContext } from '../../local/apiserver/patch/patch.js';
import type { KubeObject } from '../../local/apiserver/types.js';

/** A fixed clock, so managedFields times are predictable. */
export function clockAt(iso: string): () => Date {
  return () => new Date(iso);
}

/** A context for a built-in kind (core group unless `group` says otherwise). */
export function newContext(overrides: Partial<PatchContext> = {}): PatchContext {
  return { kind: 'Deployment', group: 'apps', custom: false, now: clockAt('2026-01-01T00:00:00Z'), ...overrides };
}

/** A Pod with one container `app` (port 8080, env A=1) and the given spec fields. */
export function newPod(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u-1', resourceVersion: '7' },
    spec: {
      containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }], env: [{ name: 'A', value: '1' }] }],
      ...spec,
    },
  };
}

/** An apps/v1 Deployment `web` with `replicas` and one nginx container. */
export function newDeployment(replicas = 1, image = 'nginx:1.25'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image }] },
      },
    },
  };
}
