import { LEASE_DURATION_SECONDS, LEASE_RENEW_SECONDS } from '../ring/index.js';
import type { LeaseReporterOptions } from '../runtime/lease-reporter.js';
import { RING_FENCE_DEFAULTS, type RingFenceOptions } from '../runtime/ring-fence.js';
import { durationFlag } from './duration.js';
import { UsageError } from './io.js';
import type { RuntimeFlag, RuntimeValues } from './runtime-args.js';

/** Whether the runtime routes by the ring (proxy, push) and so runs behind a RingFence. */
export interface LeaseFlagsOptions {
  readonly fenced: boolean;
}

/** The periods of a runtime's Lease and of its ring fence, from {@link leaseFlags}, as their options. */
export interface LeaseTiming {
  readonly lease: Required<Pick<LeaseReporterOptions, 'durationSeconds' | 'renewSeconds'>>;
  /** Only for a fenced runtime. */
  readonly fence?: Required<Pick<RingFenceOptions, 'leaseMs' | 'marginMs'>>;
}

/**
 * The flags of the Lease every runtime holds (DESIGN.md section 6) and, when `fenced`, of its
 * ring fence; the defaults are the contract's 15 s / 5 s and the fence's 3 s.
 */
export function leaseFlags(options: LeaseFlagsOptions): RuntimeFlag[] {
  const flags: RuntimeFlag[] = [
    {
      name: 'lease-duration',
      default: `${LEASE_DURATION_SECONDS}s`,
      help: 'how long the Lease stays live after a renewal; whole seconds',
    },
    { name: 'lease-renew-period', default: `${LEASE_RENEW_SECONDS}s`, help: 'between renewals of the Lease' },
  ];
  if (!options.fenced) return flags;
  const help = 'stop routing this long before an unrenewed Lease may lapse';
  return [...flags, { name: 'lease-fence-margin', default: `${RING_FENCE_DEFAULTS.marginMs / 1000}s`, help }];
}

/**
 * The periods given by the flags of {@link leaseFlags} (as parsed by parseRuntimeArgs). A
 * runtime that renews on time must never fence itself, so the renew period plus the fence
 * margin must stay below the Lease duration.
 * @throws {UsageError} naming the flag.
 */
export function leaseTimingOf(values: RuntimeValues, options: LeaseFlagsOptions): LeaseTiming {
  const text = (name: string): string => values[name] ?? '';
  const durationMs = durationFlag('lease-duration', text('lease-duration'), { wholeSeconds: true });
  const renewMs = durationFlag('lease-renew-period', text('lease-renew-period'));
  const margin = (): number => durationFlag('lease-fence-margin', text('lease-fence-margin'), { allowZero: true });
  const marginMs = options.fenced ? margin() : 0;
  if (renewMs + marginMs >= durationMs) {
    const given = (name: string): string => `--${name} (${text(name)})`;
    const renew = given('lease-renew-period');
    const sum = options.fenced ? `${renew} plus ${given('lease-fence-margin')}` : renew;
    throw new UsageError(`${sum} must be less than ${given('lease-duration')}`);
  }
  const lease = { durationSeconds: durationMs / 1000, renewSeconds: renewMs / 1000 };
  return options.fenced ? { lease, fence: { leaseMs: durationMs, marginMs } } : { lease };
}
