#!/usr/bin/env node
/** The `imring` executable: runs {@link main} on the process's arguments and streams. */
import { main } from './main.js';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A reader that went away (`imring route … | head`) is not an error of ours.
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`imring: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
