// STUB: replaced by the leader branch's operator/leader-election.ts on merge.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
export interface LeaderElectorOptions { kc: KubeConfig; namespace: string; name: string; identity: string; logger?: Logger }
export class LeaderElector {
  constructor(_o: LeaderElectorOptions) {}
  start(): void {}
  isLeader(): boolean { return true; }
  whenLeader(): Promise<void> { return Promise.resolve(); }
  on(_e: 'started' | 'stopped', _fn: () => void): () => void { return () => undefined; }
  close(_o?: { release?: boolean }): Promise<void> { return Promise.resolve(); }
}
