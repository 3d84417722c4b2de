import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Images → commands. There is no container runtime locally: an image names a program on this
 * machine. Pure, except for {@link IMRING_CLI}, which is where this build's CLI lies.
 */

/** The image table: repository (no tag, no digest) → argv prefix (the image's entrypoint). */
export type ImageTable = Readonly<Record<string, readonly string[]>>;

/** The environment variable that adds images: a JSON object `{"<repository>": ["cmd", ...]}`. */
export const LOCAL_IMAGES_ENV = 'IMRING_LOCAL_IMAGES';

/** This build's CLI (`dist/cli/imring.js`), run by every image whose last path segment is `imring`. */
export const IMRING_CLI: readonly string[] = [process.execPath, fileURLToPath(new URL('../../cli/imring.js', import.meta.url))];

/** The repository of an image reference: without `@digest` and `:tag` (a port in the registry host is kept). */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/**
 * Parses {@link LOCAL_IMAGES_ENV}; undefined or empty is an empty table.
 * @throws TypeError naming the variable when it is not an object of non-empty string arrays.
 */
export function parseLocalImages(json: string | undefined): ImageTable {
  if (json === undefined || json.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new TypeError(`${LOCAL_IMAGES_ENV} must be JSON`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError(`${LOCAL_IMAGES_ENV} must be a JSON object`);
  const table: Record<string, string[]> = {};
  for (const [image, argv] of Object.entries(parsed)) {
    if (!isArgv(argv)) throw new TypeError(`${LOCAL_IMAGES_ENV}: "${image}" must map to a non-empty array of strings`);
    table[imageRepository(image)] = argv;
  }
  return table;
}

/** The argv prefix of `image`: from `table` by repository, else the imring CLI for `…/imring`; undefined when unknown. */
export function imageEntrypoint(image: string, table: ImageTable): readonly string[] | undefined {
  const repository = imageRepository(image);
  const mapped = table[repository];
  if (mapped) return mapped;
  return repository.split('/').pop() === 'imring' ? IMRING_CLI : undefined;
}

/** What a container runs. */
export interface ContainerCommand {
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
}

/** A resolved argv, or why there is none (the kubelet's `ErrImagePull`). */
export type ArgvResult = { readonly argv: readonly string[] } | { readonly error: string };

/**
 * The argv of a container, as the runtime would build it: `command` replaces the image's
 * entrypoint, `args` its default arguments. A `command` whose first word is the entrypoint's
 * own name (`imring` for `[node, …/imring.js]`) runs the mapped entrypoint; any other runs as a
 * local executable (found on PATH). No shell is involved.
 */
export function containerArgv(container: ContainerCommand, table: ImageTable): ArgvResult {
  const entrypoint = imageEntrypoint(container.image, table);
  if (!entrypoint) {
    return { error: `image "${container.image}" is not known locally: map it to a command in ${LOCAL_IMAGES_ENV} (a JSON object {"${imageRepository(container.image)}": ["cmd", "arg"]}) or in the pod runner's images option` };
  }
  const args = container.args ?? [];
  const command = container.command ?? [];
  if (command.length === 0) return { argv: [...entrypoint, ...args] };
  const first = command[0]!;
  if (basename(first) === entrypointName(entrypoint)) return { argv: [...entrypoint, ...command.slice(1), ...args] };
  return { argv: [...command, ...args] };
}

/** `imring` for `[node, /x/dist/cli/imring.js]`, `server` for `[/usr/bin/server]`. */
export function entrypointName(entrypoint: readonly string[]): string {
  const last = basename(entrypoint[entrypoint.length - 1] ?? '');
  return last.slice(0, last.length - extname(last).length);
}

function isArgv(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '');
}
