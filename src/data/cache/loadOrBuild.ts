/**
 * The one entry point most callers need: use the cache when it is fresh, otherwise (missing,
 * stale, or damaged) rebuild it from the sources and say so. A stale cache is never returned.
 */
import type { Dataset } from '../dataset.js';
import { CacheCorruptError, type CacheManifest, type JsonValue } from './format.js';
import { hashSchema } from './hash.js';
import { loadCacheDataset, openCache, readManifest, type CacheExpectation, type OpenCacheOptions } from './reader.js';
import { CacheWriter } from './writer.js';

export interface CacheKey extends CacheExpectation {
  /** Stored in the manifest when the cache is (re)built; schemaHash (expected and stored) defaults to its hash. */
  schema?: JsonValue;
}

export interface LoadOrBuildOptions extends OpenCacheOptions {
  /** Where "rebuilt because …" goes; default: stderr. */
  log?: (line: string) => void;
}

export interface LoadedCache {
  dataset: Dataset;
  manifest: CacheManifest;
  /** Whether the cache was (re)built by this call, and why. */
  rebuilt: boolean;
  reason?: string;
}

/**
 * The whole dataset together with the schema to store in the manifest (in place of the key's
 * schema; the schemaHash stays the key's): for what is learned from the data while building.
 */
export interface BuiltWithSchema {
  dataset: Dataset;
  schema: JsonValue;
}

type Built = Dataset | Iterable<Dataset> | AsyncIterable<Dataset> | BuiltWithSchema;

/** A builder returns the whole dataset, or chunks of it (so that it need not hold every row at once). */
export type CacheBuilder = () => Promise<Built> | Built;

function isChunks(v: Built): v is Iterable<Dataset> | AsyncIterable<Dataset> {
  return Symbol.iterator in v || Symbol.asyncIterator in v;
}

function isWithSchema(v: Built): v is BuiltWithSchema {
  return 'dataset' in v && 'schema' in v;
}

export async function loadOrBuildCache(dir: string, expected: CacheKey, build: CacheBuilder,
  options: LoadOrBuildOptions = {}): Promise<LoadedCache> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // A schema given without its hash is still compared: a changed schema must not reuse the cache.
  if (expected.schemaHash === undefined && expected.schema !== undefined) expected = { ...expected, schemaHash: hashSchema(expected.schema) };
  let reason: string;
  try {
    const r = openCache(dir, expected, options);
    if (r.status === 'fresh') return { dataset: r.dataset, manifest: r.manifest, rebuilt: false };
    reason = r.reason;
  } catch (e) {
    if (!(e instanceof CacheCorruptError)) throw e;
    reason = e.message;
  }
  log(`ctrkit cache: rebuilding ${dir} (${reason})`);
  // The writer fingerprints the sources before build() reads them (see CacheWriter).
  const w = new CacheWriter(dir, expected);
  try {
    const built = await build();
    if (isChunks(built)) {
      for await (const chunk of built) w.append(chunk);
    } else if (isWithSchema(built)) {
      w.setSchema(built.schema);
      w.append(built.dataset);
    } else {
      w.append(built);
    }
  } catch (e) {
    w.abort();
    throw e;
  }
  w.commit();
  const m = readManifest(dir);
  if (m === undefined) throw new Error(`ctrkit cache: ${dir} vanished right after it was written`);
  return { dataset: loadCacheDataset(dir, m, options), manifest: m, rebuilt: true, reason };
}
