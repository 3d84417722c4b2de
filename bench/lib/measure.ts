/** Timing and memory helpers for the benchmarks: medians, build times, retained heap. */
import { getHeapSpaceStatistics } from 'node:v8';

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nanoseconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function elapsedNs(start: bigint): number {
  return Number(process.hrtime.bigint() - start);
}

/** Objects kept alive until the next measurement, so nothing measured is collected early. */
let kept: unknown[] = [];

/** Median wall time of `rounds` calls of `build`, in milliseconds (after one untimed call). */
export function buildMs(build: () => unknown, rounds: number): number {
  kept = [build()];
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    kept.push(build());
    times.push(elapsedNs(start) / 1e6);
  }
  kept = [];
  return median(times);
}

/** Whether `--expose-gc` gave us `global.gc`, without which retained memory is unknown. */
export function canMeasureMemory(): boolean {
  return typeof globalThis.gc === 'function';
}

/**
 * Median bytes retained by one result of `build` (heap outside code spaces + arrayBuffers
 * after full collections, result kept alive), or `null` without `--expose-gc`.
 *
 * Each sample first runs `build` unmeasured: V8 flushes the bytecode of functions that have
 * not run for a few collections, and a sample must not count recompiling `build` (or a flush
 * in between) as retained bytes. Full collections cost time in proportion to the heap, so
 * measure before allocating much else.
 */
export async function retainedBytes(build: () => unknown, options: RetainedOptions): Promise<number | null> {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return null;
  for (let i = 0; i < WARM_UP_BUILDS; i++) discard(build);
  const sizes: number[] = [];
  for (let s = 0; s < options.samples; s++) {
    kept = [];
    discard(build);
    await settle(gc);
    const before = heapBytes();
    keep(build, options.copies);
    await settle(gc);
    sizes.push((heapBytes() - before) / options.copies);
  }
  kept = [];
  return median(sizes);
}

export interface RetainedOptions {
  /** Samples whose median is returned. */
  readonly samples: number;
  /**
   * Results kept alive per sample (the figure is per result): the heap moves by a few hundred
   * KiB between collections for reasons of its own, which many copies of a small ring dilute.
   */
  readonly copies: number;
}

/** Builds before sampling, so lazily allocated feedback and optimised code are in place. */
const WARM_UP_BUILDS = 2;

// An async function keeps its temporaries alive across `await` (they are saved with its
// frame), so results are created and dropped in these helpers, never in `retainedBytes`.
function discard(build: () => unknown): void {
  build();
}

function keep(build: () => unknown, copies: number): void {
  kept = Array.from({ length: copies }, build);
}

/**
 * Collects until the heap is steady. Native handles (e.g. node:crypto hashes) are released by
 * weak callbacks that run on the event loop after a collection, hence the turns in between.
 */
async function settle(gc: () => unknown): Promise<void> {
  await gc();
  await new Promise<void>((resolve) => setImmediate(resolve));
  await gc();
}

/** Live heap bytes outside code spaces (JIT code comes and goes with optimisation) + ArrayBuffers. */
function heapBytes(): number {
  let bytes = process.memoryUsage().arrayBuffers;
  for (const space of getHeapSpaceStatistics()) {
    if (!space.space_name.startsWith('code_')) bytes += space.space_used_size;
  }
  return bytes;
}

/** Prints a progress line on stderr, so stdout keeps only the report. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
