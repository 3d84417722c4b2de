/**
 * The status page (web/status/) rendered in chromium from canned Snapshots of a stub server
 * (test/support/web-stub.ts): what it shows as the ring changes, the not-found and reconnecting
 * banners, the owner lookup, and cluster text shown as text. The page against the real server
 * and a real cluster is test/web-status.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inPage, openPage, waitForPage, type BrowserPage } from './support/browser.js';
import { newSnapshot, WebStub } from './support/web-stub.js';

let stub: WebStub;
let browser: BrowserPage;
let url: string;

before(async () => {
  stub = new WebStub();
  url = await stub.start();
  browser = await openPage();
});

after(async () => {
  await browser?.close();
  await stub?.close();
});

/** Page errors that mean the page is broken: exceptions and CSP refusals (not the stream's reconnects). */
function brokenPage(): string[] {
  return browser.errors.filter((e) => /pageerror|Content Security Policy/i.test(e));
}

test('before any snapshot the page shows its skeleton and a connecting banner, never a blank page', async () => {
  const fresh = new WebStub();
  const freshUrl = await fresh.start();
  try {
    await browser.page.goto(freshUrl);
    await waitForPage(browser.page, '#connection', { text: /Connecting/ });
    await waitForPage(browser.page, '#version', { text: '-' });
    await waitForPage(browser.page, '#timeline li[data-step]', { count: 5 });
  } finally {
    await fresh.close();
  }
});

test('3 members become 5 without a reload: rows, the ring, version, state and the timeline follow', async () => {
  stub.push(newSnapshot({ members: 3, version: 4 }));
  const page = browser.page;
  await page.goto(url);
  await waitForPage(page, '#members tbody tr[data-member]', { count: 3 });
  await waitForPage(page, '#version', { text: 'v4' });
  await waitForPage(page, '#connection', { text: 'Live' });
  await waitForPage(page, '#ring svg', { attribute: { name: 'aria-label', value: 'Ring v4: 3 members' } });
  await waitForPage(page, '#ring svg path.slice', { count: 3 });
  await inPage(page, 'window.marker = 1');

  const prepared = new Date(Date.now() - 3000).toISOString();
  const transition = {
    version: 5,
    fromVersion: 4,
    steps: [
      { name: 'Prepared', at: prepared, durationMs: null },
      { name: 'Acknowledged', at: new Date(Date.now() - 2000).toISOString(), durationMs: 1000 },
      { name: 'Committed', at: null, durationMs: null },
      { name: 'Moved', at: null, durationMs: null },
      { name: 'Converged', at: null, durationMs: null },
    ],
  };
  stub.push(newSnapshot({ members: 5, version: 5, state: 'Prepared' }, { transition }));
  await waitForPage(page, '#members tbody tr[data-member]', { count: 5 });
  await waitForPage(page, '#state', { text: 'Prepared' });
  await waitForPage(page, '#ring svg', {
    attribute: { name: 'aria-label', value: /^Ring v5: 5 members; previous v4: 3$/ },
  });
  await waitForPage(page, '#ring svg path.slice.previous', { count: 3 });
  await waitForPage(page, '#timeline li.done', { count: 2 });
  await waitForPage(page, '#timeline li[data-step="Acknowledged"]', { contains: '+1.0 s' });
  await waitForPage(page, '#transition-summary', { text: /^v4 → v5/ });

  const steps = transition.steps.map((s, i) => ({ ...s, at: s.at ?? new Date().toISOString(), durationMs: 500 * i }));
  stub.push(newSnapshot({ members: 5, version: 5 }, { transition: { ...transition, steps } }));
  await waitForPage(page, '#state', { text: 'Committed' });
  await waitForPage(page, '#timeline li.done', { count: 5 });
  await waitForPage(page, '#ring svg path.slice.previous', { count: 0 });
  await waitForPage(page, '#members tr[data-member="demo-4"] td:nth-of-type(2)', { text: '20.00%' });
  await waitForPage(page, '#acks [data-component="gateway"]', { contains: '5/5 on v5' });
  const marker = await inPage<number | undefined>(page, 'window.marker');
  assert.equal(marker, 1, 'the page was not reloaded');
  assert.deepEqual(brokenPage(), []);
});

test('a member that is not Ready and a laggard are shown as such', async () => {
  const snapshot = newSnapshot({ members: 3, version: 6 });
  const status = snapshot.status as any;
  status.acknowledged.proxy = { acked: 1, live: 2, laggards: [{ pod: 'proxy-b', version: 5 }] };
  stub.push({ ...snapshot, ready: { 'demo-0': true, 'demo-1': false, 'demo-2': true } });
  const page = browser.page;
  await waitForPage(page, '#members tr[data-member="demo-1"]', { contains: 'Not ready' });
  await waitForPage(page, '#acks [data-component="proxy"]', { contains: '1/2 on v6; laggards: proxy-b (v5)' });
});

test('an unknown IMGateway shows a not-found banner and the page keeps listening', async () => {
  const page = browser.page;
  const notFound = 'imgateway "nope" not found in namespace "imring-system"';
  stub.push(newSnapshot({ members: 0, version: 1 }, { name: 'nope', notFound, status: null, ready: {} }));
  await waitForPage(page, '#connection', { text: `Not found: ${notFound} (still watching)` });
  await waitForPage(page, '#connection', { attribute: { name: 'data-state', value: 'not-found' } });
  await waitForPage(page, '#members tbody tr', { count: 0 });
  await waitForPage(page, '#ring svg', { attribute: { name: 'aria-label', value: 'Ring: no valid ring document' } });
  stub.push(newSnapshot({ members: 3, version: 7 }));
  await waitForPage(page, '#connection', { text: 'Live' });
  await waitForPage(page, '#version', { text: 'v7' });
});

test('an unreachable API server is shown with its message, and recovery clears it', async () => {
  const page = browser.page;
  const connection = { state: 'reconnecting', message: 'connect ECONNREFUSED 127.0.0.1:6443' };
  stub.push(newSnapshot({ members: 3, version: 7 }, { connection }));
  await waitForPage(page, '#connection', {
    text: 'Reconnecting to the API server: connect ECONNREFUSED 127.0.0.1:6443',
  });
  await waitForPage(page, '#members tbody tr', { count: 3 });
  stub.push(newSnapshot({ members: 3, version: 7 }));
  await waitForPage(page, '#connection', { text: 'Live' });
});

test('a lost event stream shows reconnecting, and the page recovers on its own with the next snapshot', async () => {
  const page = browser.page;
  stub.push(newSnapshot({ members: 3, version: 8 }));
  await waitForPage(page, '#version', { text: 'v8' });
  stub.dropStreams();
  await waitForPage(page, '#connection', { attribute: { name: 'data-state', value: 'reconnecting' } });
  // The browser reconnects by itself; the stub replays the last snapshot at connect.
  await waitForPage(page, '#connection', { text: 'Live' }, 15_000);
});

test('an Event message with markup is shown as text, never run', async () => {
  const page = browser.page;
  const message = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">';
  const events = [
    {
      type: 'Warning',
      reason: 'Evil',
      message,
      count: 3,
      lastTimestamp: new Date().toISOString(),
      object: 'imgateway/demo',
    },
    {
      type: 'Normal',
      reason: 'Committed',
      message: 'ring v8 committed',
      count: 1,
      lastTimestamp: null,
      object: 'imgateway/demo',
    },
  ];
  stub.push(newSnapshot({ members: 3, version: 8 }, { events }));
  await waitForPage(page, '#events li', { count: 2 });
  await waitForPage(page, '#events li', { contains: message });
  await waitForPage(page, '#events li', { contains: '(×3)' });
  assert.equal(await page.locator('#events script, #events img').count(), 0);
  assert.equal(await inPage(page, 'window.pwned'), undefined);
});

test('delivery rates are shown when the snapshot has them', async () => {
  const page = browser.page;
  const delivery = {
    realtimePerSecond: 98.6,
    offlinePerSecond: 1.2,
    offlineByReason: { 'no-owner': 4 },
    misrouted: 0,
    lost: 0,
    movesPerSecond: 3,
  };
  stub.push(newSnapshot({ members: 3, version: 8 }, { delivery }));
  await waitForPage(page, '#delivery', { contains: '99/s' });
  await waitForPage(page, '#delivery', { contains: 'no-owner 4' });
});

test('the user ID box shows the current and previous owner from /api/owner, and a refusal', async () => {
  const page = browser.page;
  stub.answerOwner((user) =>
    user === 'u1'
      ? {
          status: 200,
          body: {
            userID: 'u1',
            version: 8,
            state: 'Prepared',
            current: { member: 'demo-4', host: 'demo-4.demo.imring-system.svc.cluster.local' },
            previous: { member: 'demo-1', host: 'demo-1.demo.imring-system.svc.cluster.local' },
          },
        }
      : { status: 503, body: { error: 'no valid ring' } },
  );
  await page.getByLabel('User ID').fill('u1');
  await page.getByLabel('User ID').press('Enter');
  await waitForPage(page, '#owner-result', { contains: 'demo-4 (demo-4.demo.imring-system.svc.cluster.local)' });
  await waitForPage(page, '#owner-result', { contains: 'demo-1' });
  await page.getByLabel('User ID').fill('u 2&x');
  await page.getByRole('button', { name: 'Look up' }).click();
  await waitForPage(page, '#owner-result', { text: 'Lookup failed (503): no valid ring' });
  assert.deepEqual(stub.ownerQueries, ['u1', 'u 2&x']);
});

test('the page is readable in the dark scheme as well', async () => {
  const context = await browser.browser.newContext({ colorScheme: 'dark' });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await waitForPage(page, '#version', { text: 'v8' });
    const colours = await inPage(
      page,
      '({ fg: getComputedStyle(document.body).color, bg: getComputedStyle(document.body).backgroundColor })',
    );
    assert.deepEqual(colours, { fg: 'rgb(230, 237, 243)', bg: 'rgb(13, 17, 23)' });
  } finally {
    await context.close();
  }
});
