import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { V1Container, V1EnvVar, V1PodSecurityContext, V1PodSpec } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { desiredStatefulSet } from '../operator/desired.js';
import { resolveSpec } from '../operator/spec.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'Pod']);
/** Variables that must never carry a literal value: a secret belongs in a Secret. */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|KEY|CREDENTIAL/i;

interface Workload {
  readonly where: string;
  readonly pod: V1PodSpec;
}

/** Why `pod` falls short of the restricted Pod Security Standard's core (and our secrets rule); [] when it does not. */
function podSecurityProblems(pod: V1PodSpec): string[] {
  const problems: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('shares a host namespace');
  if (pod.volumes?.some((v) => v.hostPath)) problems.push('mounts a hostPath');
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    problems.push(...containerProblems(c, pod.securityContext ?? {}).map((p) => `container ${c.name}: ${p}`));
  }
  return problems;
}

/** A container's settings win over the pod's (runAsNonRoot, runAsUser, seccompProfile). */
function containerProblems(c: V1Container, podContext: V1PodSecurityContext): string[] {
  const context = c.securityContext ?? {};
  const uid = context.runAsUser ?? podContext.runAsUser;
  const capabilities = context.capabilities ?? {};
  const checks: [boolean, string][] = [
    [(context.runAsNonRoot ?? podContext.runAsNonRoot) === true, 'runAsNonRoot is not true'],
    [uid !== undefined && uid !== 0, `runAsUser ${uid} is not a non-root uid`],
    [context.readOnlyRootFilesystem === true, 'readOnlyRootFilesystem is not true'],
    [context.allowPrivilegeEscalation === false, 'allowPrivilegeEscalation is not false'],
    [context.privileged !== true, 'is privileged'],
    [
      (capabilities.drop ?? []).includes('ALL') && (capabilities.add ?? []).length === 0,
      'does not drop ALL capabilities (and add none)',
    ],
    [
      (context.seccompProfile ?? podContext.seccompProfile)?.type === 'RuntimeDefault',
      'seccompProfile is not RuntimeDefault',
    ],
  ];
  const secrets = (c.env ?? [])
    .filter(isLiteralSecret)
    .map((env) => `env ${env.name} holds a literal value: secrets only by secretKeyRef`);
  return [...checks.filter(([ok]) => !ok).map(([, problem]) => problem), ...secrets];
}

function isLiteralSecret(env: V1EnvVar): boolean {
  return SECRET_NAME.test(env.name) && (env.value !== undefined || env.valueFrom?.secretKeyRef === undefined);
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? yamlFiles(join(dir, e.name))
        : Promise.resolve(/\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

/** Every pod template under config/: Deployments and the like (a Pod's spec is its own template). */
async function shippedWorkloads(): Promise<Workload[]> {
  const workloads: Workload[] = [];
  for (const file of await yamlFiles(join(ROOT, 'config'))) {
    for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
      const object = document.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { template?: { spec?: V1PodSpec }; jobTemplate?: unknown } & V1PodSpec;
      } | null;
      if (!object?.kind || !WORKLOADS.has(object.kind)) continue;
      const pod = object.kind === 'Pod' ? object.spec : object.spec?.template?.spec;
      assert.ok(pod, `${object.kind}/${object.metadata?.name} has a pod spec`);
      workloads.push({ where: `${relative(ROOT, file)} ${object.kind}/${object.metadata?.name}`, pod });
    }
  }
  return workloads;
}

function gatewayPod(spec: Record<string, unknown>): V1PodSpec {
  const resolved = resolveSpec({ metadata: { name: 'im' }, spec });
  assert.ok(resolved.ok, JSON.stringify(resolved));
  return desiredStatefulSet({ namespace: 'ns', name: 'im', uid: 'u1' }, resolved.spec, 3).spec!.template.spec!;
}

test('every Deployment under config/ runs non-root with a read-only root filesystem, no privilege escalation, no capabilities, seccomp RuntimeDefault, and secrets only by reference', async () => {
  const workloads = await shippedWorkloads();
  assert.deepEqual(workloads.map((w) => w.where).sort(), [
    'config/demo/proxy.yaml Deployment/demo-proxy',
    'config/demo/push.yaml Deployment/demo-push',
    'config/operator.yaml Deployment/imring-operator',
  ]);
  for (const { where, pod } of workloads) assert.deepEqual(podSecurityProblems(pod), [], where);
});

test('the gateway StatefulSet the operator builds is as locked down, whatever the podTemplate extras say', () => {
  const plain = gatewayPod({ auth: { secretName: 'tok' } });
  assert.deepEqual(podSecurityProblems(plain), []);
  // A user's literal IMRING_TOKEN_SECRET in podTemplate.env never replaces the reference.
  const extras = gatewayPod({
    auth: { secretName: 'tok', secretKey: 'k' },
    podTemplate: {
      env: [
        { name: 'IMRING_TOKEN_SECRET', value: 'leaked' },
        { name: 'GREETING', value: 'hi' },
      ],
      labels: { team: 'im' },
    },
  });
  assert.deepEqual(podSecurityProblems(extras), []);
  const token = extras.containers[0]!.env!.filter((e) => e.name === 'IMRING_TOKEN_SECRET');
  assert.deepEqual(token, [{ name: 'IMRING_TOKEN_SECRET', valueFrom: { secretKeyRef: { name: 'tok', key: 'k' } } }]);
});

test('the pod security check finds each kind of weakness (it can fail)', () => {
  const safe = gatewayPod({ auth: { secretName: 'tok' } });
  const weaken = (change: (pod: V1PodSpec) => void): string[] => {
    const pod = structuredClone(safe);
    change(pod);
    return podSecurityProblems(pod);
  };
  const table: [string, (pod: V1PodSpec) => void, RegExp][] = [
    ['root', (p) => void (p.securityContext!.runAsNonRoot = false), /runAsNonRoot/],
    ['uid 0', (p) => void (p.securityContext!.runAsUser = 0), /runAsUser 0/],
    [
      'writable root',
      (p) => void (p.containers[0]!.securityContext!.readOnlyRootFilesystem = false),
      /readOnlyRootFilesystem/,
    ],
    [
      'escalation',
      (p) => void delete p.containers[0]!.securityContext!.allowPrivilegeEscalation,
      /allowPrivilegeEscalation/,
    ],
    [
      'capability',
      (p) => void (p.containers[0]!.securityContext!.capabilities = { drop: ['ALL'], add: ['NET_ADMIN'] }),
      /capabilities/,
    ],
    ['seccomp', (p) => void (p.securityContext!.seccompProfile = { type: 'Unconfined' }), /seccompProfile/],
    ['privileged', (p) => void (p.containers[0]!.securityContext!.privileged = true), /privileged/],
    [
      'literal secret',
      (p) => void p.containers[0]!.env!.push({ name: 'IMRING_TOKEN_SECRET', value: 'x' }),
      /literal value/,
    ],
    ['host network', (p) => void (p.hostNetwork = true), /host namespace/],
  ];
  for (const [name, change, problem] of table) assert.match(weaken(change).join('\n'), problem, name);
});

test('the image runs as the same non-root user the pod templates name', async () => {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(users.slice(-1), ['65532:65532']);
  assert.match(dockerfile, /^FROM \S+:nonroot$/m);
  assert.equal(gatewayPod({ auth: { secretName: 'tok' } }).securityContext?.runAsUser, 65532);
});
