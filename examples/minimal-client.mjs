// A complete imring client with graceful migration, in plain `ws` (docs/graceful-migration.md).
// Usage: node examples/minimal-client.mjs <ws-url> <userID> <platform> <token>; prints each msgID it receives.
import WebSocket from 'ws';

const [url, userID, platform, token] = process.argv.slice(2);
const target = `${url}?${new URLSearchParams({ userID, platform, token, migrate: 'graceful' })}`;
let current; // the connection that counts: a close of any other one is part of a move

function connect() {
  const ws = new WebSocket(target);
  let moving = false;
  ws.on('open', () => {
    const old = current;
    current = ws;
    old?.close(1000); // make before break: the new connection is open, so the old one may go
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type === 'message') process.stdout.write(`${frame.msgID}\n`);
    if (frame.type === 'migrate' && !moving) {
      moving = true; // one move at a time
      connect(); // the new connection goes through the same URL: the proxy routes it to the new owner
    }
  });
  ws.on('error', () => {}); // a 'close' follows every error
  ws.on('close', (code) => {
    // 4003: replaced (mid-move, by our own new connection, which carries on); 4401: refused. Both: stop here.
    if (ws !== current || code === 4003 || code === 4401) return;
    current = undefined;
    setTimeout(connect, code === 4001 || code === 4002 ? 0 : 1000); // moved or shutting down: reconnect now
  });
}

connect();
