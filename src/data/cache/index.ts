export {
  CACHE_FORMAT_VERSION, CacheCorruptError, MANIFEST_FILE,
  type CacheDtype, type CacheManifest, type ColumnEntry, type ColumnRole, type JsonValue, type SourceFingerprint,
} from './format.js';
export { canonicalJson, combineSourceHashes, fingerprintSource, hashFile, hashSchema, sourceChange } from './hash.js';
export { CacheWriter, removeLeftovers, writeCache, writeCacheChunks, type CacheIdentity } from './writer.js';
export {
  loadCacheDataset, openCache, readManifest, staleReason,
  type CacheExpectation, type OpenCacheOptions, type OpenCacheResult,
} from './reader.js';
export { loadOrBuildCache, type BuiltWithSchema, type CacheBuilder, type CacheKey, type LoadedCache, type LoadOrBuildOptions } from './loadOrBuild.js';
export { CacheBlockReader } from './blockReader.js';
