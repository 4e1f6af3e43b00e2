/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}` padded with spaces to a multiple of 8, then the tensors'
 * raw little-endian bytes, offsets relative to the end of the header.
 *
 * Chosen for weights because any framework (PyTorch, JAX, numpy) can read it without running
 * code, and it stores float bits exactly. Files are read through positioned reads straight into
 * each tensor's typed array, so a large embedding table is neither copied twice nor bound by
 * the 2 GiB limit of a single Buffer.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomic } from './atomic.js';

export type DType = 'F32' | 'F64' | 'I32' | 'U8';
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A tensor to write: its dtype follows from the typed array. */
export interface TensorInput {
  data: TensorData;
  shape: readonly number[];
}

export interface LoadedTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface SafetensorsContents {
  tensors: Map<string, LoadedTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<DType, number> = { F32: 4, F64: 8, I32: 4, U8: 1 };
/** The reference implementation's limit; a larger "length" means the file is not safetensors. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

// Typed arrays use the host's byte order; the format fixes little-endian.
if (endianness() !== 'LE') throw new Error('ctrkit safetensors: a little-endian host is required');

function dtypeOf(a: TensorData): DType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  return 'U8';
}

function allocate(dtype: DType, n: number, shared: boolean): TensorData {
  const buffer = shared ? new SharedArrayBuffer(n * BYTES[dtype]) : new ArrayBuffer(n * BYTES[dtype]);
  switch (dtype) {
    case 'F32': return new Float32Array(buffer);
    case 'F64': return new Float64Array(buffer);
    case 'I32': return new Int32Array(buffer);
    case 'U8': return new Uint8Array(buffer);
  }
}

function bytesOf(a: TensorData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function isDim(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/**
 * Serialises tensors as the chunks of a safetensors file (header, then each tensor's bytes
 * without copying). Tensors are laid out in name order so equal inputs give equal files.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, TensorInput>, metadata: Readonly<Record<string, string>> = {},
  source = '<safetensors>'): Uint8Array[] {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${source}: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header[METADATA_KEY] = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (name === '' || name === METADATA_KEY) throw new Error(`${source}: invalid tensor name '${name}'`);
    if (!t.shape.every(isDim)) throw new Error(`${source}: tensor '${name}': invalid shape ${JSON.stringify(t.shape)}`);
    const n = elementCount(t.shape);
    if (n !== t.data.length) {
      throw new Error(`${source}: tensor '${name}': shape [${t.shape.join(', ')}] has ${n} elements but the data has ${t.data.length}`);
    }
    const dtype = dtypeOf(t.data);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
    chunks.push(bytesOf(t.data));
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces (still valid JSON) so that the data starts 8-byte aligned, as the reference writer does.
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  return [head, ...chunks];
}

/** Random access to the bytes of a safetensors file or buffer. */
interface ByteSource {
  readonly size: number;
  /** Fills `into` with the bytes at [position, position + into.length). */
  read(into: Uint8Array, position: number): void;
}

function bufferSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (into, pos) => into.set(bytes.subarray(pos, pos + into.length)) };
}

function decode(src: ByteSource, source: string, shared = false): SafetensorsContents {
  const fail = (msg: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${msg}`);
  };
  if (src.size < 8) fail(`${src.size} bytes, shorter than the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  src.read(lenBytes, 0);
  const headerLen = Buffer.from(lenBytes).readBigUInt64LE(0);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const n = Number(headerLen);
  if (8 + n > src.size) fail(`header length ${n} runs past the end of the file (${src.size} bytes)`);
  const headBytes = new Uint8Array(n);
  src.read(headBytes, 8);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headBytes));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const entries = Object.entries(header as Record<string, unknown>);

  const metadata: Record<string, string> = {};
  const specs: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, spec] of entries) {
    if (name === METADATA_KEY) {
      if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(spec as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const bad = (msg: string): never => fail(`tensor '${name}': ${msg}`);
    if (typeof spec !== 'object' || spec === null) bad('entry is not an object');
    const { dtype, shape, data_offsets: offsets } = spec as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in BYTES)) bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isDim)) bad(`invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
    const [begin, end] = offsets as [number, number];
    if (end < begin) bad(`data_offsets [${begin}, ${end}] end before they begin`);
    const count = elementCount(shape as number[]);
    const expected = count * BYTES[dtype as DType];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      bad(`${dtype} shape [${(shape as number[]).join(', ')}] needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    specs.push({ name, dtype: dtype as DType, shape: shape as number[], begin, end });
  }

  // The data section must be covered exactly: no gaps, no overlaps, nothing trailing.
  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  const byOffset = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of byOffset) {
    if (s.begin !== cursor) fail(`tensor '${s.name}': data_offsets [${s.begin}, ${s.end}] ${s.begin < cursor ? 'overlap the previous tensor' : `leave a gap after byte ${cursor}`}`);
    if (s.end > dataLen) fail(`tensor '${s.name}': data_offsets [${s.begin}, ${s.end}] run past the data section (${dataLen} bytes)`);
    cursor = s.end;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} bytes after the last tensor`);

  const tensors = new Map<string, LoadedTensor>();
  for (const s of specs) {
    const data = allocate(s.dtype, elementCount(s.shape), shared);
    src.read(bytesOf(data), dataStart + s.begin);
    tensors.set(s.name, { dtype: s.dtype, shape: s.shape, data });
  }
  return { tensors, metadata };
}

/** Parses and fully validates a safetensors image held in memory; `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  return decode(bufferSource(bytes), source);
}

/** Writes a safetensors file atomically (see writeFileAtomic). */
export function writeSafetensors(path: string, tensors: ReadonlyMap<string, TensorInput>, metadata: Readonly<Record<string, string>> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

const READ_CHUNK = 4 << 20;

/**
 * Reads and fully validates a safetensors file; errors name the file and the tensor. `shared`:
 * each tensor on a SharedArrayBuffer of its own, so that threads can hold the same memory (serving).
 */
export function readSafetensors(path: string, opts: { shared?: boolean } = {}): SafetensorsContents {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // Through a small buffer rather than straight into the tensors: memory the kernel fills by
    // read() was measured twice as slow to gather embedding rows from (1.0 vs 0.45 ms per 1-row
    // score of a 70 MB DCN-v2) as memory the process writes itself.
    const chunk = Buffer.allocUnsafe(Math.min(size, READ_CHUNK));
    return decode({
      size,
      read(into, position) {
        let done = 0;
        while (done < into.length) {
          const got = readSync(fd, chunk, 0, Math.min(into.length - done, chunk.length), position + done);
          if (got === 0) throw new Error(`${path}: unexpected end of file at byte ${position + done}`);
          into.set(chunk.subarray(0, got), done);
          done += got;
        }
      },
    }, path, opts.shared === true);
  } finally {
    closeSync(fd);
  }
}
