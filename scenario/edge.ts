/**
 * An edge server in this process for a set of bundle folders (copied into a temporary models
 * folder, so that exactly these are served), for the demo, the benchmark and the browser page.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createEdgeServer, type EdgeServer } from '../tail/index.js';
import type { EdgeServerOptions } from '../tail/options.js';

/** A running in-process edge and the port it listens on. */
export interface LocalEdge {
  edge: EdgeServer;
  port: number;
  close(): Promise<void>;
}

/** Starts an edge serving exactly `bundles`; `close()` stops it and removes the copies. */
export async function startLocalEdge(bundles: readonly string[], options: Partial<EdgeServerOptions> = {}): Promise<LocalEdge> {
  const models = await mkdtemp(join(tmpdir(), 'offramp-edge-'));
  try {
    for (const dir of bundles) await cp(dir, join(models, basename(dir)), { recursive: true });
    const edge = await createEdgeServer({ workers: 1, ...options, models, port: options.port ?? 0 });
    return {
      edge,
      port: edge.address.port,
      async close() {
        await edge.close();
        await rm(models, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(models, { recursive: true, force: true });
    throw err;
  }
}
