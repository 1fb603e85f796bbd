/**
 * Child process for server.test.ts: starts an edge on a busy port (argv[2]) and prints the error
 * code. It never calls process.exit: it exits only if the failed start left nothing running.
 */
import { join } from 'node:path';
import { isOfframpError } from '../../protocol/index.js';
import { createEdgeServer } from '../../tail/index.js';

const port = Number(process.argv[2]);
try {
  await createEdgeServer({ models: join(import.meta.dirname, '..', 'fixtures'), port, workers: 2 });
  console.log('LISTENING');
} catch (err) {
  console.log(isOfframpError(err) ? err.code : String(err));
}
