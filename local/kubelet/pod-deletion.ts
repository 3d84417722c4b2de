import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

/**
 * What a kubelet does last for a pod being deleted, once its containers stopped: removes it from
 * the API (grace 0, only this very pod: a namesake created since is left alone). Gone or
 * replaced already is fine.
 */
export async function removeStoppedPod(core: CoreV1Api, pod: V1Pod): Promise<void> {
  const { name = '', namespace = '', uid } = pod.metadata ?? {};
  await ignoringCodes(
    [404, 409],
    core.deleteNamespacedPod({
      name,
      namespace,
      gracePeriodSeconds: 0,
      body: { gracePeriodSeconds: 0, preconditions: { uid } },
    }),
  );
}

/** Awaits `promise`: true when it resolved, false when it failed with one of `codes`; other failures throw. */
export async function ignoringCodes(codes: readonly number[], promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return true;
  } catch (error) {
    if (codes.includes((error as { code?: number }).code ?? 0)) return false;
    throw error;
  }
}
