/**
 * Debian's chromium driven by playwright-core for the page tests (issue 18): the browser the
 * project installs (`.ci/run`), never one playwright downloads. Collects the page's errors
 * (uncaught exceptions, console errors such as CSP violations) so a test can assert there were none.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser with one page, the page's errors as they happen, and an idempotent close. */
export interface BrowserPage {
  readonly browser: Browser;
  readonly page: Page;
  readonly errors: string[];
  close(): Promise<void>;
}

/** Launches chromium and opens a page of `colorScheme` (light unless said); fails plainly without chromium. */
export async function openPage(options: { colorScheme?: 'light' | 'dark' } = {}): Promise<BrowserPage> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: apt-get install -y --no-install-recommends chromium (as .ci/run does)`,
    );
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= browser.close());
  try {
    const context = await browser.newContext({
      colorScheme: options.colorScheme ?? 'light',
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    return { browser, page, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What {@link waitForPage} waits for on the elements `selector` matches (on the first one, but for `count`). */
export interface PageExpectation {
  readonly count?: number;
  /** The whole text, or a pattern it matches. */
  readonly text?: string | RegExp;
  readonly contains?: string;
  readonly attribute?: { readonly name: string; readonly value: string | RegExp };
}

/** Longest wait for the page to show something, ms: a bound for a broken page, not a delay. */
export const PAGE_TIMEOUT_MS = 10_000;

/** The few DOM members the checks below use: the tests compile without the DOM's types. */
interface ElementLike {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
}
type Pattern = string | { source: string; flags: string } | undefined;
interface Check {
  readonly selector: string;
  readonly count: number | undefined;
  readonly text: Pattern;
  readonly contains: string | undefined;
  readonly attribute: string | undefined;
  readonly value: Pattern;
}

/**
 * Checks a {@link Check} in the page. Runs there, serialized by playwright: it may use nothing
 * of this module. Patterns travel as `{ source, flags }`.
 */
function check(a: Check): boolean {
  const matches = (actual: string | null, wanted: Pattern): boolean =>
    wanted === undefined ||
    (actual !== null &&
      (typeof wanted === 'string' ? actual === wanted : new RegExp(wanted.source, wanted.flags).test(actual)));
  const dom = globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<ElementLike> } };
  const nodes = dom.document.querySelectorAll(a.selector);
  if (a.count !== undefined) return nodes.length === a.count;
  const node = nodes[0];
  if (!node) return false;
  const text = node.textContent ?? '';
  return (
    matches(text, a.text) &&
    (a.contains === undefined || text.includes(a.contains)) &&
    (a.attribute === undefined || matches(node.getAttribute(a.attribute), a.value))
  );
}

/** What the page shows at `a.selector`, for a failure's message; runs in the page like {@link check}. */
function describe(a: Check): string {
  const dom = globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<ElementLike> } };
  const nodes = dom.document.querySelectorAll(a.selector);
  const first = nodes[0];
  const attr = a.attribute && first ? ` ${a.attribute}=${JSON.stringify(first.getAttribute(a.attribute))}` : '';
  return `${nodes.length} match(es); first text ${JSON.stringify(first ? first.textContent : null)}${attr}`;
}

/**
 * Resolves once the page shows `want` at `selector`, checked at each animation frame (the
 * browser's own rendering tick, no timer of the test); rejects after `timeoutMs` with what the
 * page showed instead.
 */
export async function waitForPage(
  page: Page,
  selector: string,
  want: PageExpectation,
  timeoutMs = PAGE_TIMEOUT_MS,
): Promise<void> {
  const arg: Check = {
    selector,
    count: want.count,
    text: serializable(want.text),
    contains: want.contains,
    attribute: want.attribute?.name,
    value: serializable(want.attribute?.value),
  };
  try {
    await page.waitForFunction(check, arg, { timeout: timeoutMs });
  } catch (error) {
    const seen = await page
      .evaluate(describe, arg)
      .catch((cause: Error) => `(could not read the page: ${cause.message})`);
    throw new Error(`the page did not show ${JSON.stringify(want)} at ${selector}: ${seen}`, { cause: error });
  }
}

/** Runs `expression` (browser code as text) in the page and returns its value. */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(expression);
}

function serializable(value: string | RegExp | undefined): Pattern {
  return value instanceof RegExp ? { source: value.source, flags: value.flags } : value;
}
