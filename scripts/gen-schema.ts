/**
 * Writes protocol/manifest.schema.json: the bundle manifest's JSON Schema, generated from the zod
 * schema in protocol/manifest.ts (the single source). The Python writers validate against it
 * before writing; test/protocol/schema.test.ts fails when it is out of date.
 * Usage: tsx scripts/gen-schema.ts [OUT]
 */
import { writeFileSync } from 'node:fs';
import { manifestJsonSchemaText } from '../protocol/manifest.js';

const out = process.argv[2] ?? new URL('../protocol/manifest.schema.json', import.meta.url).pathname;
writeFileSync(out, manifestJsonSchemaText());
console.log(`wrote ${out}`);
