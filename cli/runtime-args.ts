import { parseArgs } from 'node:util';
import { PodEnv } from '../ring/index.js';
import { UsageError } from './io.js';

/** A flag of a runtime command: its environment variable and default, for parsing and --help. */
export interface RuntimeFlag {
  readonly name: string;
  readonly env?: string;
  readonly default?: string;
  readonly help: string;
  /** Parsed as an integer port (0..65535). */
  readonly port?: boolean;
}

/** Flags every runtime takes. */
export const COMMON_FLAGS: readonly RuntimeFlag[] = [
  { name: 'gateway', env: PodEnv.gateway, help: 'the IMGateway whose ring this runtime serves (required)' },
  {
    name: 'namespace',
    env: PodEnv.podNamespace,
    default: 'default',
    help: 'namespace of the IMGateway, its ring ConfigMap and the Leases',
  },
  {
    name: 'pod',
    env: PodEnv.podName,
    help: "this pod's name (Lease holder; gateways: the member name). Default: the hostname",
  },
  { name: 'host', env: PodEnv.podIP, default: '0.0.0.0', help: 'address to bind' },
];

/** Values of a runtime command's flags, by flag name (strings; ports validated). */
export type RuntimeValues = Record<string, string | undefined> & { help?: string };

/**
 * Reads flags, then their environment variables, then defaults. Throws UsageError for unknown
 * flags, bad ports, and a missing --gateway.
 */
export function parseRuntimeArgs(
  args: string[],
  flags: readonly RuntimeFlag[],
  env: NodeJS.ProcessEnv = process.env,
): RuntimeValues {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of flags) options[f.name] = { type: 'string' };
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, strict: true, options }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (values.help) return { help: 'yes' };
  const out: RuntimeValues = {};
  for (const flag of flags) {
    const value = (values[flag.name] as string | undefined) ?? (flag.env ? env[flag.env] : undefined) ?? flag.default;
    if (flag.port && value !== undefined && !isPort(value))
      throw new UsageError(`--${flag.name} must be a port from 0 to 65535, got "${value}"`);
    out[flag.name] = value === '' ? undefined : value;
  }
  if (!out.gateway) throw new UsageError(`--gateway (or ${PodEnv.gateway}) is required`);
  return out;
}

/** The --help text of a runtime command. */
export function runtimeHelp(usage: string, summary: string, flags: readonly RuntimeFlag[]): string {
  const width = Math.max(...flags.map((f) => f.name.length)) + 4;
  const lines = flags.map((f) => {
    const extra = [f.env ? `env ${f.env}` : '', f.default !== undefined ? `default ${f.default}` : '']
      .filter(Boolean)
      .join(', ');
    return `  --${f.name.padEnd(width)}${f.help}${extra ? ` (${extra})` : ''}`;
  });
  return `${usage}\n\n${summary}\n\nOptions:\n${lines.join('\n')}\n${'  -h, --help'.padEnd(width + 4)}show this help\n`;
}

function isPort(value: string): boolean {
  const n = Number(value);
  return /^\d+$/.test(value) && n >= 0 && n <= 65535;
}

/** A port flag's value as a number (validated by parseRuntimeArgs). */
export function portOf(values: RuntimeValues, name: string): number {
  return Number(values[name]);
}
