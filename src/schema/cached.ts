/**
 * buildDataset behind a binary cache (`data.cache`): a fresh cache is loaded with one read per
 * column instead of parsing and encoding the text again. The cache is keyed on the parts of the
 * data config that change the encoded rows and on the source files' contents, so an edited config
 * or file rebuilds it; the fitted schema, the split and the build stats ride in the manifest's
 * schema slot, since they are part of what a build produces.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { hashSchema, loadOrBuildCache, type JsonValue, type LoadOrBuildOptions } from '../data/cache/index.js';
import { buildDataset, type BuildResult } from './build.js';
import { sourcePath, type DataConfig } from './config.js';
import { FittedSchema } from './fitted.js';
import type { IngestOptions } from './ingest.js';

/** Bumped when the encoding of a config changes, so caches of an older encoder are not reused. */
// 2: random splits draw from Rng (src/util/random.ts) instead of a split-only generator.
const ENCODING_VERSION = 2;

export interface CacheInfo {
  dir: string;
  /** Whether this call (re)built the cache, and why. */
  rebuilt: boolean;
  reason?: string;
}

export interface CachedBuildResult extends BuildResult {
  /** Present when the config has `data.cache`. */
  cache?: CacheInfo;
}

export interface CachedBuildOptions extends IngestOptions {
  /** Where "rebuilding … because …" goes (default stderr). */
  log?: (line: string) => void;
}

const range = z.strictObject({ start: z.number().int().min(0), end: z.number().int().min(0) });
const stored = z.object({
  key: z.unknown(),
  fitted: z.unknown(),
  split: z.strictObject({ fit: range, validation: range, test: range }),
  stats: z.object({
    rows: z.number().int().min(0),
    skippedLines: z.number().int().min(0),
    skippedExamples: z.array(z.string()),
    files: z.array(z.object({
      file: z.string(), lines: z.number(), rows: z.number(), skipped: z.number(), skippedExamples: z.array(z.string()),
    })),
  }),
});

/** Every file the build reads, resolved: what the cache fingerprints. A duckdb query's files are its own business. */
export function dataSourceFiles(cfg: DataConfig, baseDir: string): string[] {
  const out: string[] = [];
  const main = sourcePath(cfg.source);
  if (main !== undefined) out.push(main);
  if (cfg.source.format === 'ipinyou') out.push(cfg.source.featIndex);
  if (cfg.split.mode === 'files') {
    if (cfg.split.validation !== undefined) out.push(cfg.split.validation);
    if (cfg.split.test !== undefined) out.push(cfg.split.test);
  }
  return out.map((p) => resolve(baseDir, p));
}

/** The data files proper, in build order (an iPinYou featindex names fields, it is not data). */
export function dataRowFiles(cfg: DataConfig, baseDir: string): string[] {
  const featIndex = cfg.source.format === 'ipinyou' ? resolve(baseDir, cfg.source.featIndex) : undefined;
  return dataSourceFiles(cfg, baseDir).filter((p) => p !== featIndex);
}

/**
 * The cache key: the data config without the keys that cannot change the encoded rows (where the
 * cache lives, how many threads parse, the sampling applied after loading), with the bad-line
 * policy actually used.
 */
export function cacheKey(cfg: DataConfig, options: IngestOptions): JsonValue {
  const { cache: _c, workers: _w, sampling: _s, ...rest } = cfg;
  const data = JSON.parse(JSON.stringify({ ...rest, onBadLine: options.onBadLine ?? cfg.onBadLine })) as JsonValue;
  return { encoding: ENCODING_VERSION, data };
}

/** buildDataset, through the cache at `cfg.cache` (resolved against baseDir) when there is one. */
export async function buildDatasetCached(cfg: DataConfig, baseDir: string, options: CachedBuildOptions = {}): Promise<CachedBuildResult> {
  if (cfg.cache === undefined) return buildDataset(cfg, baseDir, options);
  const dir = resolve(baseDir, cfg.cache);
  const key = cacheKey(cfg, options);
  let built: BuildResult | undefined;
  const cacheOptions: LoadOrBuildOptions = options.log === undefined ? {} : { log: options.log };
  const loaded = await loadOrBuildCache(dir, { schema: key, schemaHash: hashSchema(key), sources: dataSourceFiles(cfg, baseDir) }, async () => {
    built = await buildDataset(cfg, baseDir, options);
    const schema = { key, fitted: built.fitted.toJSON(), split: built.split, stats: built.stats };
    return { dataset: built.dataset, schema: JSON.parse(JSON.stringify(schema)) as JsonValue };
  }, cacheOptions);
  const info: CacheInfo = { dir, rebuilt: loaded.rebuilt, ...(loaded.reason === undefined ? {} : { reason: loaded.reason }) };
  // Just built: the in-memory result is the same data, and needs no second decoding.
  if (built !== undefined) return { ...built, cache: info };
  const where = `${dir}/manifest.json: schema`;
  const s = stored.safeParse(loaded.manifest.schema);
  if (!s.success) throw new Error(`${where}: not a ctrkit schema cache (${s.error.issues[0]?.message ?? 'invalid'}); delete ${dir} to rebuild it`);
  const dataset = loaded.dataset;
  // The cache records "not sampled" as rate 1; buildDataset leaves the field out.
  if (dataset.negativeSampleRate === 1) delete dataset.negativeSampleRate;
  return { dataset, split: s.data.split, fitted: FittedSchema.fromJSON(s.data.fitted, `${where}.fitted`), stats: s.data.stats, cache: info };
}
