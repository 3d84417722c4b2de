// STUB: replaced by the crd branch's operator/spec.ts on merge.
export interface ResolvedSpec {
  readonly replicas: number;
  readonly image: string;
  readonly ports: { readonly ws: number; readonly grpc: number; readonly http: number };
  readonly resources: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
  readonly podTemplate: {
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly nodeSelector: Record<string, string>;
    readonly tolerations: object[];
    readonly env: { name: string; value: string }[];
  };
  readonly ring: { readonly tableSize: number; readonly ackTimeoutSeconds: number };
  readonly drain: { readonly timeoutSeconds: number; readonly migrateRatePerSecond: number; readonly handoffWindowMs: number };
  readonly unreadyGraceSeconds: number;
  readonly auth: { readonly secretName: string; readonly secretKey: string };
  readonly logLevel: string;
}
export interface SpecProblem { field: string; message: string }
export type SpecResult = { ok: true; spec: ResolvedSpec; warnings: string[] } | { ok: false; problems: SpecProblem[] };
export function resolveSpec(gateway: { metadata?: { name?: string }; spec?: unknown }): SpecResult {
  const s = (gateway.spec ?? {}) as Record<string, any>;
  return {
    ok: true,
    warnings: [],
    spec: {
      replicas: s.replicas ?? 1,
      image: s.image ?? 'ghcr.io/imring/imring:0.1.0',
      ports: { ws: 10001, grpc: 10002, http: 10003, ...s.ports },
      resources: s.resources ?? {},
      podTemplate: { labels: {}, annotations: {}, nodeSelector: {}, tolerations: [], env: [], ...s.podTemplate },
      ring: { tableSize: 65537, ackTimeoutSeconds: 30, ...s.ring },
      drain: { timeoutSeconds: 120, migrateRatePerSecond: 500, handoffWindowMs: 2000, ...s.drain },
      unreadyGraceSeconds: s.unreadyGraceSeconds ?? 30,
      auth: { secretKey: 'key', ...s.auth },
      logLevel: s.logLevel ?? 'info',
    },
  };
}
