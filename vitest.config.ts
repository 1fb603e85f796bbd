import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // onnxruntime sessions and zstd wasm are heavy: one fork per file, files in parallel.
    pool: 'forks',
  },
});
