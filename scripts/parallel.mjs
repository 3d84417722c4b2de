// @ts-check
/**
 * Runs the npm scripts named as arguments at once (`npm test` builds while it lints: each takes
 * one core) and prints each one's output whole when it ends, so they do not interleave. Exits 1
 * when any of them failed, after all have ended.
 */
import { spawn } from 'node:child_process';

const names = process.argv.slice(2);
if (names.length === 0) {
  process.stderr.write('usage: node scripts/parallel.mjs SCRIPT...\n');
  process.exit(2);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const results = await Promise.all(names.map((name) => runScript(name)));
process.exitCode = results.every((ok) => ok) ? 0 : 1;

/**
 * Runs `npm run <name>` with its output buffered; true when it exited 0.
 * @param {string} name
 * @returns {Promise<boolean>}
 */
function runScript(name) {
  return new Promise((resolve) => {
    const child = spawn(npm, ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    /** @type {Buffer[]} */
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (err) => {
      process.stderr.write(`npm run ${name}: ${err.message}\n`);
      resolve(false);
    });
    child.on('close', (code, signal) => {
      const status = signal ?? `exit ${code}`;
      process.stdout.write(`> npm run ${name} (${status})\n${Buffer.concat(output).toString()}`);
      resolve(code === 0);
    });
  });
}
