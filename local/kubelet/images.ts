import { basename, extname } from 'node:path';

/**
 * Images → commands. There is no container runtime locally: an image names a program on this
 * machine. Pure.
 */

/** An image table: repository (no tag, no digest) or image name → argv prefix (the image's entrypoint). */
export type ImageTable = Readonly<Record<string, readonly string[]>>;

/** The commands of the images a pod runner knows. */
export interface ImageCommands {
  /** By repository: `ghcr.io/acme/server` → `["node", "server.js"]`. */
  readonly repositories: ImageTable;
  /** By name, the repository's last path segment, for images no repository entry maps. */
  readonly names: ImageTable;
  /** The environment variable that adds repositories, named in errors; undefined when there is none. */
  readonly env?: string | undefined;
}

/** The repository of an image reference: without `@digest` and `:tag` (a port in the registry host is kept). */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/**
 * Parses the JSON object `{"<repository>": ["cmd", ...]}` of the environment variable `variable`;
 * undefined or empty is an empty table.
 * @throws TypeError naming the variable when it is not an object of non-empty string arrays.
 */
export function parseImageTable(json: string | undefined, variable: string): ImageTable {
  if (json === undefined || json.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new TypeError(`${variable} must be JSON`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TypeError(`${variable} must be a JSON object`);
  }
  return repositoryTable(parsed, variable);
}

/**
 * `table` with its keys reduced to repositories (tags and digests dropped).
 * @throws TypeError naming `source` when an entry is not a non-empty array of strings.
 */
export function repositoryTable(table: object, source: string): ImageTable {
  const repositories: Record<string, readonly string[]> = {};
  for (const [image, argv] of Object.entries(table)) {
    if (!isArgv(argv)) throw new TypeError(`${source}: "${image}" must map to a non-empty array of strings`);
    repositories[imageRepository(image)] = argv;
  }
  return repositories;
}

/**
 * `table` checked as a table of image names.
 * @throws TypeError naming `source` when a key is not a bare name or an entry not a non-empty array of strings.
 */
export function nameTable(table: object, source: string): ImageTable {
  for (const [name, argv] of Object.entries(table)) {
    if (!/^[^/:@]+$/.test(name)) {
      throw new TypeError(`${source}: "${name}" must be an image name, without registry, path, tag or digest`);
    }
    if (!isArgv(argv)) throw new TypeError(`${source}: "${name}" must map to a non-empty array of strings`);
  }
  return table as ImageTable;
}

/** The argv prefix of `image`: by its repository, else by its name; undefined when unknown. */
export function imageEntrypoint(image: string, images: ImageCommands): readonly string[] | undefined {
  const repository = imageRepository(image);
  return entryOf(images.repositories, repository) ?? entryOf(images.names, repository.split('/').pop() ?? '');
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
 * own name (`server` for `[node, …/server.js]`) runs the mapped entrypoint; any other runs as a
 * local executable (found on PATH). No shell is involved.
 */
export function containerArgv(container: ContainerCommand, images: ImageCommands): ArgvResult {
  const entrypoint = imageEntrypoint(container.image, images);
  if (!entrypoint) return { error: unknownImage(container.image, images.env) };
  const args = container.args ?? [];
  const command = container.command ?? [];
  if (command.length === 0) return { argv: [...entrypoint, ...args] };
  const first = command[0]!;
  if (basename(first) === entrypointName(entrypoint)) return { argv: [...entrypoint, ...command.slice(1), ...args] };
  return { argv: [...command, ...args] };
}

/** `server` for `[node, /srv/server.js]` and for `[/usr/bin/server]`. */
export function entrypointName(entrypoint: readonly string[]): string {
  const last = basename(entrypoint[entrypoint.length - 1] ?? '');
  return last.slice(0, last.length - extname(last).length);
}

/** Why `image` has no command, and where to give it one. */
function unknownImage(image: string, env: string | undefined): string {
  const where = env ? `${env} (a JSON object {"${imageRepository(image)}": ["cmd", "arg"]}) or in ` : '';
  return `image "${image}" is not known locally: map it to a command in ${where}the pod runner's images option`;
}

/** The table's own entry for `key` (never one of Object.prototype's). */
function entryOf(table: ImageTable, key: string): readonly string[] | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function isArgv(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '');
}
