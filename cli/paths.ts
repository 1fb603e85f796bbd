/** Where the repository (or the installed package) lives. */
export { packageRoot as repoRoot } from '../scenario/package.js';
