import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResolver, parseHosts } from '../../runtime/resolver.js';

/** A temporary directory with a hosts file, a fake clock and a fake system DNS that records its calls. */
async function fixture(): Promise<{
  file: string;
  clock: { now: number };
  lookups: string[];
  lookup: (host: string) => Promise<string>;
  replace(text: string): Promise<void>;
  close(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-resolver-'));
  const file = join(dir, 'hosts');
  const lookups: string[] = [];
  let n = 0;
  return {
    file,
    clock: { now: 0 },
    lookups,
    lookup: (host) => {
      lookups.push(host);
      return host.endsWith('.invalid') ? Promise.reject(new Error('ENOTFOUND')) : Promise.resolve('192.0.2.1');
    },
    // As the DNS controller does: a new file renamed over the old one.
    replace: async (text) => {
      const temporary = join(dir, `.hosts.${n++}.tmp`);
      await writeFile(temporary, text);
      await rename(temporary, file);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

test('hosts text parses to the first address of each name, without comments', () => {
  const entries = parseHosts(
    [
      '# header',
      '127.1.0.1\tweb-0.web.default.svc.cluster.local web-0 # alias',
      '127.1.0.2 web.default.svc.cluster.local',
      '127.1.0.1 WEB.default.svc.cluster.local',
      'not-an-ip name',
      '',
      '::1 localhost6',
    ].join('\n'),
  );
  assert.deepEqual(
    [...entries],
    [
      ['web-0.web.default.svc.cluster.local', '127.1.0.1'],
      ['web-0', '127.1.0.1'],
      ['web.default.svc.cluster.local', '127.1.0.2'],
      ['localhost6', '::1'],
    ],
  );
});

test('names in the hosts file resolve from it, others through lookup', async () => {
  const f = await fixture();
  const resolver = createResolver({ hostsFile: f.file, lookup: f.lookup, now: () => f.clock.now });
  try {
    await f.replace(
      '# dns\n127.1.0.1\tim-0.im.default.svc.cluster.local\n127.1.0.2\tim.default.svc.cluster.local\n127.1.0.3\tim.default.svc.cluster.local\n',
    );
    assert.equal(await resolver.resolve('im-0.im.default.svc.cluster.local'), '127.1.0.1');
    assert.equal(
      await resolver.resolve('IM-0.im.default.svc.cluster.local.'),
      '127.1.0.1',
      'case and the root dot do not matter',
    );
    assert.equal(await resolver.resolve('im.default.svc.cluster.local'), '127.1.0.2', 'several addresses: the first');
    assert.deepEqual(f.lookups, []);
    assert.equal(await resolver.resolve('example.com'), '192.0.2.1');
    assert.deepEqual(f.lookups, ['example.com']);
  } finally {
    resolver.close();
    await f.close();
  }
});

test('with a hosts file, a cluster service name it does not list fails at once, without system DNS', async () => {
  const f = await fixture();
  const resolver = createResolver({ hostsFile: f.file, lookup: f.lookup, now: () => f.clock.now });
  try {
    await f.replace('127.1.0.1\tim-0.im.default.svc.cluster.local\n');
    await assert.rejects(resolver.resolve('im-4.im.default.svc.cluster.local'), (error: Error) => {
      assert.match(error.message, /cannot resolve im-4\.im\.default\.svc\.cluster\.local/);
      assert.match((error.cause as Error).message, /not in the hosts file/);
      return true;
    });
    await assert.rejects(resolver.resolve('im.other.svc.example.org'), /cannot resolve/, 'any cluster domain');
    assert.deepEqual(f.lookups, [], 'system DNS was not asked for cluster names');
    // Names that only look alike go to system DNS: `svc` as the first or the last label.
    assert.equal(await resolver.resolve('svc.example.com'), '192.0.2.1');
    assert.equal(await resolver.resolve('example.svc'), '192.0.2.1');
    assert.deepEqual(f.lookups, ['svc.example.com', 'example.svc']);
  } finally {
    resolver.close();
    await f.close();
  }
});

test('the file is re-read after an atomic replace, at most once per check interval', async () => {
  const f = await fixture();
  const resolver = createResolver({
    hostsFile: f.file,
    lookup: f.lookup,
    now: () => f.clock.now,
    checkIntervalMs: 250,
  });
  try {
    await f.replace('127.1.0.1 im-0.im\n');
    assert.equal(await resolver.resolve('im-0.im'), '127.1.0.1');
    await f.replace('127.1.0.9 im-0.im\n127.1.0.2 im-1.im\n');
    f.clock.now = 249;
    assert.equal(await resolver.resolve('im-0.im'), '127.1.0.1', 'within the interval the cache answers');
    f.clock.now = 250;
    assert.equal(await resolver.resolve('im-0.im'), '127.1.0.9');
    assert.equal(await resolver.resolve('im-1.im'), '127.1.0.2');
    await f.replace('127.1.0.2 im-1.im\n');
    f.clock.now = 500;
    assert.equal(await resolver.resolve('im-0.im'), '192.0.2.1', 'a name gone from the file falls back to lookup');
  } finally {
    resolver.close();
    await f.close();
  }
});

test('IP literals are returned as they are, without any lookup', async () => {
  const f = await fixture();
  const resolver = createResolver({ hostsFile: f.file, lookup: f.lookup });
  try {
    assert.deepEqual(await Promise.all(['127.1.0.7', '::1', '[::1]', '10.0.0.1'].map((h) => resolver.resolve(h))), [
      '127.1.0.7',
      '::1',
      '::1',
      '10.0.0.1',
    ]);
    assert.deepEqual(f.lookups, []);
  } finally {
    resolver.close();
    await f.close();
  }
});

test('a missing hosts file means no entries, with one warning, until it appears', async () => {
  const f = await fixture();
  const warnings: string[] = [];
  const resolver = createResolver({
    hostsFile: f.file,
    lookup: f.lookup,
    now: () => f.clock.now,
    onWarning: (w) => warnings.push(w),
  });
  try {
    assert.equal(await resolver.resolve('im-0.im'), '192.0.2.1');
    f.clock.now = 1000;
    assert.equal(await resolver.resolve('im-0.im'), '192.0.2.1');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /hosts file .*hosts/);
    await f.replace('127.1.0.1 im-0.im\n');
    f.clock.now = 2000;
    assert.equal(await resolver.resolve('im-0.im'), '127.1.0.1');
  } finally {
    resolver.close();
    await f.close();
  }
});

test('errors name the host, and a closed resolver refuses', async () => {
  const f = await fixture();
  const resolver = createResolver({ hostsFile: f.file, lookup: f.lookup, onWarning: () => undefined });
  try {
    await assert.rejects(
      resolver.resolve('nowhere.invalid'),
      (e: Error) => e.message === 'cannot resolve nowhere.invalid' && (e.cause as Error).message === 'ENOTFOUND',
    );
    resolver.close();
    resolver.close();
    await assert.rejects(resolver.resolve('im-0.im'), /cannot resolve im-0.im: the resolver is closed/);
  } finally {
    await f.close();
  }
});

test('without a hosts file it uses IMRING_HOSTS_FILE, else lookup alone; bad options throw', async () => {
  const f = await fixture();
  const saved = process.env.IMRING_HOSTS_FILE;
  try {
    await f.replace('127.1.0.5 from-env\n');
    process.env.IMRING_HOSTS_FILE = f.file;
    assert.equal(await createResolver({ lookup: f.lookup }).resolve('from-env'), '127.1.0.5');
    process.env.IMRING_HOSTS_FILE = '';
    assert.equal(await createResolver({ lookup: f.lookup }).resolve('from-env'), '192.0.2.1');
    assert.equal(
      await createResolver()
        .resolve('localhost')
        .then((ip) => /^(127\.|::1$)/.test(ip)),
      true,
      'system DNS by default',
    );
    assert.throws(() => createResolver({ checkIntervalMs: -1 }), /checkIntervalMs/);
    assert.throws(() => createResolver({ hostsFile: '' }), /hostsFile/);
  } finally {
    if (saved === undefined) delete process.env.IMRING_HOSTS_FILE;
    else process.env.IMRING_HOSTS_FILE = saved;
    await f.close();
  }
});

test('lookups made while the hosts file is first being read all wait for it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imring-resolver-race-'));
  const file = join(dir, 'hosts');
  await writeFile(file, '127.1.0.9 gw-0.example.test\n');
  const resolver = createResolver({
    hostsFile: file,
    lookup: (host) => Promise.reject(new Error(`no DNS for ${host}`)),
  });
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve('gw-0.example.test')));
    assert.deepEqual(new Set(answers), new Set(['127.1.0.9']));
  } finally {
    resolver.close();
    await rm(dir, { recursive: true, force: true });
  }
});
