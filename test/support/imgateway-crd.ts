/** The IMGateway CRD as shipped, applied with kubectl to a local API server (test/crd*.test.ts). */
import assert from 'node:assert/strict';
import { IMGATEWAY, type IMGateway } from '../../operator/api.js';
import { repoRoot } from './fixtures.js';
import type { KubectlSession } from './kubectl.js';
import { rawRequest } from './local-api.js';

/** crds/imgateway.yaml. */
export const CRD_FILE = `${repoRoot}crds/imgateway.yaml`;

/** The API path of the IMGateways in namespace default. */
export const GATEWAYS = `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/default/${IMGATEWAY.plural}`;

/** The IMGateway `name` as the server stores it. */
export async function stored(k: KubectlSession, name: string): Promise<IMGateway> {
  const response = await rawRequest(k.api, `${GATEWAYS}/${name}`);
  assert.equal(response.status, 200, response.text);
  return response.json<IMGateway>();
}
