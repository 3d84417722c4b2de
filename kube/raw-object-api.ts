/**
 * Creates any Kubernetes object from its manifest as written, as `kubectl create -f` does.
 *
 * client-node's `KubernetesObjectApi.create` serializes a known kind through its typed model, which
 * drops every JSON key the model spells otherwise: in a CustomResourceDefinition's schema `default`
 * (`_default` there), `enum` and every `x-kubernetes-*` extension are lost, so the API server
 * would serve the CRD without its defaults (or refuse it, an int-or-string without its marker not
 * being structural). This sends the parsed manifest's JSON unchanged.
 */
import { HttpMethod, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/** {@link KubernetesObjectApi} with a `create` that keeps the manifest's JSON as it is. */
export class RawObjectApi extends KubernetesObjectApi {
  /** A client for `kc`, namespaced objects without a namespace going to its context's namespace. */
  static forConfig(kc: KubeConfig): RawObjectApi {
    const client = kc.makeApiClient(RawObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }

  /**
   * POSTs `object` as JSON, no key renamed or dropped.
   * @throws client-node's ApiException on a status other than 2xx (409 when it exists).
   */
  async createAsIs(object: KubernetesObject): Promise<KubernetesObject> {
    const path = await this.specUriPath(object, 'create');
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.POST);
    request.setHeaderParam('Accept', 'application/json');
    request.setHeaderParam('Content-Type', 'application/json');
    request.setBody(JSON.stringify(object));
    return this.requestPromise(request);
  }
}
