/**
 * Issue 18's proof: the status page served by {@link StatusServer} for imring on a local
 * cluster, in Debian's chromium. The page shows 3 members; `kubectl scale imgw/demo
 * --replicas=5` makes it show 5, the transition's steps and the new version without a reload.
 * Screenshots go to test-artifacts/status-web.png, and to docs/images/status-web.png with
 * IMRING_DOCS_SCREENSHOT=1 (the picture in docs/web-view.md).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { SAMPLE } from '../cli/local-system.js';
import { StatusServer } from '../cli/web/status-server.js';
import { inPage, openPage, waitForPage } from './support/browser.js';
import { repoRoot } from './support/fixtures.js';
import { CONVERGE_TIMEOUT_MS, scale, startSystem } from './support/scenario.js';

const STEPS = ['Prepared', 'Acknowledged', 'Committed', 'Moved', 'Converged'];

test('the page shows 3 members, then 5 with the transition and the new version after kubectl scale, live', async () => {
  const system = await startSystem({ replicas: 3, prefix: 'imring-web-' });
  const server = new StatusServer({ kc: system.cluster.kc, namespace: SAMPLE.namespace, name: SAMPLE.name, port: 0 });
  const browser = await openPage().catch(async (error: unknown) => {
    await Promise.all([server.close(), system.close()]);
    throw error;
  });
  try {
    const { url } = await server.start();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = browser.page;
    await page.goto(url);
    await waitForPage(page, '#connection', { attribute: { name: 'data-state', value: 'live' } });
    await waitForPage(page, '#members tbody tr[data-member]', { count: 3 });
    await waitForPage(page, '#ring svg', { attribute: { name: 'aria-label', value: /: 3 members$/ } });
    const before = await page.locator('#version').textContent();
    assert.match(before ?? '', /^v\d+$/);
    await inPage(page, 'window.loadedOnce = true');

    await scale(system, 5);
    await waitForPage(page, '#members tbody tr[data-member]', { count: 5 }, CONVERGE_TIMEOUT_MS);
    await waitForPage(page, '#version', { text: new RegExp(`^v(?!${before!.slice(1)}$)\\d+$`) }, CONVERGE_TIMEOUT_MS);
    for (const step of STEPS) {
      await waitForPage(page, `#timeline li.done[data-step="${step}"]`, { count: 1 }, CONVERGE_TIMEOUT_MS);
    }
    await waitForPage(page, '#state', { text: 'Committed' }, CONVERGE_TIMEOUT_MS);
    await waitForPage(page, '#ring svg', { attribute: { name: 'aria-label', value: /: 5 members$/ } });
    await waitForPage(page, '#acks [data-component="gateway"]', { contains: '5/5' }, CONVERGE_TIMEOUT_MS);
    for (const member of ['demo-0', 'demo-4']) {
      await waitForPage(page, `#members tr[data-member="${member}"]`, { contains: 'Ready' }, CONVERGE_TIMEOUT_MS);
    }
    const reloaded = await inPage<boolean>(page, 'window.loadedOnce !== true');
    assert.equal(reloaded, false, 'the page changed without a reload');

    await page.getByLabel('User ID').fill('u1');
    await page.getByRole('button', { name: 'Look up' }).click();
    await waitForPage(page, '#owner-result', { contains: 'demo-' });

    await screenshot(page, join(repoRoot, 'test-artifacts', 'status-web.png'));
    if (process.env.IMRING_DOCS_SCREENSHOT === '1')
      await screenshot(page, join(repoRoot, 'docs', 'images', 'status-web.png'));
    assert.deepEqual(
      browser.errors.filter((e) => /pageerror|Content Security Policy/i.test(e)),
      [],
    );
  } finally {
    await browser.close();
    await server.close();
    await system.close();
  }
});

async function screenshot(page: Page, path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}
