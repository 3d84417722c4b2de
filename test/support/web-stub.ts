/**
 * A stand-in for the status page's server (cli/web/status-server.ts) in page tests: serves
 * web/status/ with the same headers, and streams the Snapshots a test pushes on `/events`, so
 * the page's rendering is tested in a browser without a cluster. `/api/owner` answers what the
 * test sets. Binds 127.0.0.1 on an ephemeral port.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { repoRoot } from './fixtures.js';

/** The Snapshot of the contract, loosely typed: tests build odd ones on purpose. */
export type StubSnapshot = Record<string, unknown>;

/** What `/api/owner` answers: a status code and a JSON body. */
export interface StubOwnerAnswer {
  readonly status: number;
  readonly body: unknown;
}

const WEB_ROOT = join(repoRoot, 'web', 'status');
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** The contract's security headers, so a page that breaks the CSP breaks here too. */
const HEADERS = {
  'Content-Security-Policy': "default-src 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export class WebStub {
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();
  #last: StubSnapshot | undefined;
  #owner: (user: string) => StubOwnerAnswer = () => ({ status: 503, body: { error: 'no valid ring' } });
  /** Every user ID `/api/owner` was asked about, in order. */
  readonly ownerQueries: string[] = [];

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  /** Listens on 127.0.0.1 and an ephemeral port; resolves with the page's URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  /** Sends `snapshot` to every open `/events` stream, and to each one that opens later. */
  push(snapshot: StubSnapshot): void {
    this.#last = snapshot;
    for (const res of this.#streams) writeSnapshot(res, snapshot);
  }

  /** Ends every open `/events` stream (as a server restart would); the page reconnects by itself. */
  dropStreams(): void {
    for (const res of this.#streams) res.end();
    this.#streams.clear();
  }

  /** Sets what `/api/owner?user=ID` answers. */
  answerOwner(answer: (user: string) => StubOwnerAnswer): void {
    this.#owner = answer;
  }

  /** Stops listening and ends every stream; idempotent. */
  async close(): Promise<void> {
    this.dropStreams();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed');
    if (url.pathname === '/events') return this.#openStream(res);
    if (url.pathname === '/api/owner') {
      const user = url.searchParams.get('user') ?? '';
      this.ownerQueries.push(user);
      const answer = this.#owner(user);
      return send(res, answer.status, 'application/json', JSON.stringify(answer.body));
    }
    const name = url.pathname === '/' ? 'index.html' : normalize(decodeURIComponent(url.pathname)).slice(1);
    const file = join(WEB_ROOT, name);
    const type = TYPES[extname(file)];
    if (!file.startsWith(`${WEB_ROOT}${sep}`) || !type) return send(res, 404, 'text/plain', 'not found');
    try {
      send(res, 200, type, await readFile(file));
    } catch {
      send(res, 404, 'text/plain', 'not found');
    }
  }

  #openStream(res: ServerResponse): void {
    res.writeHead(200, { ...HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(': connected\n\n');
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
    if (this.#last) writeSnapshot(res, this.#last);
  }
}

function writeSnapshot(res: ServerResponse, snapshot: StubSnapshot): void {
  res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...HEADERS, 'Content-Type': type });
  res.end(body);
}

/**
 * A Snapshot of the sample gateway `demo` with `members` members at `version`, every member
 * Ready, every component acknowledged; `overrides` replace top-level fields.
 */
export function newSnapshot(
  options: { members: number; version: number; state?: 'Prepared' | 'Committed' },
  overrides: StubSnapshot = {},
): StubSnapshot {
  const names = Array.from({ length: options.members }, (_, i) => `demo-${i}`);
  const state = options.state ?? 'Committed';
  const ack = { acked: 2, live: 2, laggards: [] };
  return {
    name: 'demo',
    namespace: 'imring-system',
    at: new Date().toISOString(),
    connection: { state: 'live', message: null },
    notFound: null,
    status: {
      gateway: 'demo',
      namespace: 'imring-system',
      source: 'IMGateway',
      phase: state === 'Committed' ? 'Ready' : 'Transitioning',
      replicas: { desired: options.members, ready: options.members },
      conditions: [],
      ring: {
        configMap: 'demo-ring',
        status: 'ok',
        error: null,
        version: options.version,
        state,
        previous: state === 'Prepared' ? { version: options.version - 1, members: names.slice(0, 3) } : null,
        checksum: `sha256:${String(options.version).repeat(8)}`,
        tableSize: 65537,
        members: names.map((name, i) => ({
          name,
          host: `${name}.demo.imring-system.svc.cluster.local`,
          ports: { ws: 8080, grpc: 9090 },
          share: 1 / options.members,
          connections: 40 + i,
          misplaced: 0,
        })),
      },
      acknowledged: { gateway: { ...ack, live: options.members, acked: options.members }, proxy: ack, push: ack },
      ringErrors: [],
      misplacedConnections: 0,
      leases: [],
    },
    ready: Object.fromEntries(names.map((name) => [name, true])),
    transition: null,
    events: [],
    delivery: null,
    ...overrides,
  };
}
