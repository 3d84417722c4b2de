import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './support/fixtures.js';

/** Each relative import of a .ts file under `folder`, as the file and the top-level folder it imports from. */
function importedFolders(folder: string): { file: string; from: string }[] {
  const all = readdirSync(join(repoRoot, folder), { recursive: true, encoding: 'utf8' });
  const files = all.filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 0, `${folder}/ holds TypeScript files`);
  return files.flatMap((name) => {
    const file = join(folder, name);
    const source = readFileSync(join(repoRoot, file), 'utf8');
    return [...source.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((match) => {
      const target = relative(repoRoot, join(repoRoot, dirname(file), match[1]!));
      return { file, from: target.split('/')[0]! };
    });
  });
}

/** The imports of `folder` that reach a top-level folder other than `allowed`. */
function importsOutside(folder: string, allowed: readonly string[]): string[] {
  const outside = importedFolders(folder).filter(({ from }) => !allowed.includes(from));
  return outside.map(({ file, from }) => `${file} imports from ${from}/`);
}

test('the client SDK (client/) imports only itself and the ring contract, nothing of the runtimes', () => {
  assert.deepEqual(importsOutside('client', ['client', 'ring']), []);
});

test('kube/ imports nothing of the operator, the runtimes, the SDK or the CLI', () => {
  assert.deepEqual(importsOutside('kube', ['kube', 'ring']), []);
});
