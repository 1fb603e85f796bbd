/**
 * Packages Offramp needs only on one side (onnxruntime-node on an edge or a Node.js device,
 * onnxruntime-web in a browser, vega for benchmark plots) are optional peer dependencies: the
 * side that needs one imports it here, and a missing one is an OfframpError DEPENDENCY_MISSING
 * that names the package to install.
 */
import { OfframpError } from './errors.js';

/** Imports `pkg` (dynamically); `purpose` says what needs it. */
export async function importOptional<T>(pkg: string, purpose: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(String((err as Error).message))) {
      throw new OfframpError('DEPENDENCY_MISSING', `${purpose} needs the ${pkg} package, which is not installed: npm install ${pkg}`, { cause: err });
    }
    throw err;
  }
}
