import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs as dist/test/docs.test.js. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = join(ROOT, 'README.md');
const README_MAX_LINES = 150;

test('the README has at most 150 lines', () => {
  const lines = lineCount(readFileSync(README, 'utf8'));
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines, at most ${README_MAX_LINES} wanted`);
});

test('the README starts, under its title, with the two commands: npm install && npm start, then npm test', () => {
  const [title, fence, ...rest] = readFileSync(README, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  assert.match(title ?? '', /^# \S/, 'the first line is the title');
  assert.match(fence ?? '', /^```/, 'a code block follows the title');
  const commands = rest.slice(0, 2).map((line) => line.replace(/\s#.*$/, '').trim());
  assert.deepEqual(commands, ['npm install && npm start', 'npm test']);
});

test('every relative link in README.md and docs/ resolves to a file, and its anchor to a heading there', () => {
  const files = [README, ...markdownFiles(join(ROOT, 'docs'))];
  assert.ok(files.length > 1, 'docs/ holds markdown pages');
  const problems = files.flatMap((file) => linkProblems(file, ROOT));
  assert.deepEqual(problems, []);
});

test('every bench:* script in package.json has a page under docs/benchmarks/ that names its npm command', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const { scripts } = pkg;
  const benchmarks = Object.keys(scripts).filter((name) => name.startsWith('bench:'));
  assert.ok(benchmarks.length > 0, 'package.json has bench:* scripts');
  for (const script of benchmarks) {
    const page = join(ROOT, 'docs', 'benchmarks', `${script.slice('bench:'.length)}.md`);
    assert.ok(existsSync(page), `${script} has no page ${relative(ROOT, page)}`);
    const text = readFileSync(page, 'utf8');
    assert.ok(text.includes(`npm run ${script}`), `${relative(ROOT, page)} does not name "npm run ${script}"`);
  }
});

test('the link check reports a missing file, a missing anchor and a link out of the repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imring-docs-'));
  try {
    writeFileSync(join(dir, 'b.md'), '# A title\n\n## A title\n\n```\n# not a heading\n```\n');
    writeFileSync(
      join(dir, 'a.md'),
      [
        '# Here',
        '[ok](b.md#a-title) [ok](b.md#a-title-1) [ok](#here) [ok](./) [web](https://example.com/x.md)',
        '`[code](nowhere.md)` [gone](nowhere.md) [bad](b.md#not-a-title) [code](b.md#not-a-heading)',
        '[out](../outside.md)',
        '',
        '[ref]: b.md#nope',
      ].join('\n'),
    );
    assert.deepEqual(linkProblems(join(dir, 'a.md'), dir), [
      'a.md: nowhere.md: no such file',
      'a.md: b.md#not-a-title: no heading "not-a-title" in b.md',
      'a.md: b.md#not-a-heading: no heading "not-a-heading" in b.md',
      'a.md: ../outside.md: outside the repository',
      'a.md: b.md#nope: no heading "nope" in b.md',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('heading anchors follow GitHub slug rules', () => {
  const cases: [heading: string, slug: string][] = [
    ['How it fits together', 'how-it-fits-together'],
    ['Why not @dot-i/k8s-operator', 'why-not-dot-ik8s-operator'],
    ['`imring status` and `imring route`', 'imring-status-and-imring-route'],
    ['Workloads: `imring local`', 'workloads-imring-local'],
    ['The same as a test: `test/scenario.test.ts`', 'the-same-as-a-test-testscenariotestts'],
    ['Bench [push](push.md) → gateway', 'bench-push--gateway'],
    ['snake_case – dash', 'snake_case--dash'],
    ['Über naïve 2×', 'über-naïve-2'],
  ];
  for (const [heading, slug] of cases) assert.equal(githubSlug(heading), slug, heading);
  assert.deepEqual([...headingAnchors('# Setup\n## Setup\n### Setup\n')], ['setup', 'setup-1', 'setup-2']);
});

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** Every `.md` file below `dir`, depth first, sorted. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return markdownFiles(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
}

/** What is wrong with each relative link of `file`, as `<file>: <link>: <reason>`, paths relative to `root`. */
function linkProblems(file: string, root: string): string[] {
  return markdownLinks(readFileSync(file, 'utf8')).flatMap((link) => {
    const reason = linkProblem(file, link, root);
    return reason === undefined ? [] : [`${relative(root, file)}: ${link}: ${reason}`];
  });
}

function linkProblem(file: string, link: string, root: string): string | undefined {
  const hash = link.indexOf('#');
  const path = decodeURIComponent(hash < 0 ? link : link.slice(0, hash));
  const anchor = hash < 0 ? '' : decodeURIComponent(link.slice(hash + 1));
  const base = resolve(root);
  // GitHub resolves a leading `/` from the repository root.
  const target = path === '' ? file : resolve(path.startsWith('/') ? base : dirname(file), `.${sep}${path}`);
  if (target !== base && !target.startsWith(`${base}${sep}`)) return 'outside the repository';
  if (!existsSync(target)) return 'no such file';
  if (anchor === '') return undefined;
  if (statSync(target).isDirectory() || !target.endsWith('.md')) {
    // GitHub's line anchors are the only ones a file without headings has.
    return /^L\d+(-L\d+)?$/.test(anchor) ? undefined : 'an anchor into a file without headings';
  }
  if (headingAnchors(readFileSync(target, 'utf8')).has(anchor)) return undefined;
  return `no heading "${anchor}" in ${relative(dirname(file), target)}`;
}

/** Targets of inline links, images and reference definitions outside code, except those with a scheme (`https:`). */
function markdownLinks(text: string): string[] {
  const prose = withoutCodeSpans(withoutFences(text));
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1] ?? '');
  const references = [...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm)].map((match) => match[1] ?? '');
  return [...inline, ...references].filter((link) => link !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(link));
}

/** `text` without its fenced code blocks. */
function withoutFences(text: string): string {
  return text.replace(/^ {0,3}(```|~~~)[^]*?^ {0,3}\1.*$/gm, '');
}

/** `text` without its inline code spans. */
function withoutCodeSpans(text: string): string {
  return text.replace(/(`+)[^`][^]*?\1/g, '');
}

/** The anchors GitHub gives the ATX headings of a markdown text, duplicates suffixed `-1`, `-2`, … */
function headingAnchors(text: string): Set<string> {
  const occurrences = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of withoutFences(text).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = githubSlug(match[1] ?? '');
    let anchor = base;
    while (occurrences.has(anchor)) {
      const count = (occurrences.get(base) ?? 0) + 1;
      occurrences.set(base, count);
      anchor = `${base}-${count}`;
    }
    occurrences.set(anchor, 0);
    anchors.add(anchor);
  }
  return anchors;
}

/**
 * GitHub's anchor for a heading (github-slugger): the heading's text (links reduced to their
 * text, code marks and tags dropped) lowercased, without punctuation other than `-` and `_`,
 * symbols, other numbers and separators other than the space, each space turned into `-`.
 */
function githubSlug(heading: string): string {
  const textOnly = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
  return textOnly
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\p{Alphabetic} -]/gu, '')
    .replace(/ /g, '-');
}
