import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type TensorInput } from '../../src/io/safetensors.js';

const concat = (chunks: Uint8Array[]): Uint8Array => Buffer.concat(chunks);

/** Builds a file byte by byte, independently of the writer: length, header text, then data. */
function handBuilt(headerText: string, data: number[]): Uint8Array {
  const head = Buffer.from(headerText, 'utf8');
  const out = new Uint8Array(8 + head.length + data.length);
  const len = head.length;
  for (let i = 0; i < 8; i++) out[i] = i < 4 ? (len >>> (8 * i)) & 0xff : 0;
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

describe('safetensors', () => {
  it('matches the reference implementation byte for byte (huggingface/safetensors test_serialization)', () => {
    // I32 zeros [2,2]: 60 bytes of JSON padded with 4 spaces to 64 ('@'), then 16 zero bytes.
    const expected = Buffer.concat([
      Buffer.from('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ', 'latin1'),
      Buffer.alloc(16),
    ]);
    const out = concat(encodeSafetensors(new Map([['test', { data: new Int32Array(4), shape: [2, 2] }]])));
    assert.deepEqual(Buffer.from(out), expected);
  });

  it('reads a hand-built file: little-endian values, metadata, any tensor order in the header', () => {
    // b (I32 [1] = 7) is listed first but stored second; a (F32 [2] = 1.5, -2).
    const header = '{"__metadata__":{"framework":"ctrkit"},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},'
      + '"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}';
    const data = [0x00, 0x00, 0xc0, 0x3f, /* 1.5 */ 0x00, 0x00, 0x00, 0xc0, /* -2 */ 0x07, 0x00, 0x00, 0x00];
    const { tensors, metadata } = decodeSafetensors(handBuilt(header, data), 'hand.safetensors');
    assert.deepEqual(metadata, { framework: 'ctrkit' });
    assert.deepEqual(tensors.get('a'), { dtype: 'F32', shape: [2, 1], data: Float32Array.of(1.5, -2) });
    assert.deepEqual(tensors.get('b'), { dtype: 'I32', shape: [1], data: Int32Array.of(7) });
  });

  it('writes tensors sorted by name with the header padded to 8 bytes', () => {
    const bytes = concat(encodeSafetensors(new Map<string, TensorInput>([
      ['z', { data: Uint8Array.of(1, 2, 3), shape: [3] }],
      ['a', { data: Float64Array.of(0.1), shape: [] }],
    ]), { note: 'x' }));
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
    assert.equal(text, text.trimEnd() + ' '.repeat(n - text.trimEnd().length));
    const h = JSON.parse(text) as Record<string, { data_offsets: number[] }>;
    assert.deepEqual(Object.keys(h), ['__metadata__', 'a', 'z']);
    assert.deepEqual(h.a!.data_offsets, [0, 8]);
    assert.deepEqual(h.z!.data_offsets, [8, 11]);
    assert.equal(bytes.length, 8 + n + 11);
  });

  it('round-trips F32, F64, I32 and U8 including special floats, scalars and empty tensors (via a file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctrkit-st-'));
    try {
      const f32 = Float32Array.of(NaN, Infinity, -Infinity, -0, 1e-45, 3.4028235e38, 0.1);
      const tensors = new Map<string, TensorInput>([
        ['f32', { data: f32, shape: [7] }],
        ['f64', { data: Float64Array.of(Math.PI, -0, 5e-324), shape: [3, 1] }],
        ['i32', { data: Int32Array.of(-2147483648, 2147483647, 0, -1, 5, 6), shape: [2, 3] }],
        ['u8', { data: Uint8Array.of(0, 255), shape: [2] }],
        ['scalar', { data: Float32Array.of(42), shape: [] }],
        ['empty', { data: new Float32Array(0), shape: [0, 4] }],
        // A view into a larger buffer must be written from its own offset.
        ['view', { data: new Float32Array(Float32Array.of(9, 8, 7, 6).buffer, 4, 2), shape: [2] }],
      ]);
      const path = join(dir, 'x.safetensors');
      writeSafetensors(path, tensors, { a: 'b' });
      const back = readSafetensors(path);
      assert.deepEqual(back.metadata, { a: 'b' });
      assert.equal(back.tensors.size, tensors.size);
      for (const [name, t] of tensors) {
        const got = back.tensors.get(name)!;
        assert.deepEqual(got.shape, [...t.shape], name);
        assert.deepEqual(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength),
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
      }
      assert.deepEqual(decodeSafetensors(readFileSync(path)).tensors, back.tensors);
      // Read shared (a server's scoring thread): the same bytes, each tensor on a SharedArrayBuffer that threads post to each other without a copy.
      const shared = readSafetensors(path, { shared: true });
      for (const [name, t] of back.tensors) {
        const got = shared.tensors.get(name)!;
        assert.ok(got.data.buffer instanceof SharedArrayBuffer && got.data.constructor === t.data.constructor, name);
        assert.deepEqual(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a shape that does not match the data when writing', () => {
    assert.throws(() => encodeSafetensors(new Map([['w', { data: new Float32Array(5), shape: [2, 3] }]]), {}, 'out.safetensors'),
      /out\.safetensors: tensor 'w': shape \[2, 3\] has 6 elements but the data has 5/);
  });

  describe('validation on read names the file and the tensor', () => {
    const t = (spec: string): string => `{"w":${spec}}`;
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', Uint8Array.of(1, 2, 3), /bad\.st: .*3 bytes/],
      ['header length past the end', handBuilt('{}', []).map((b, i) => (i === 0 ? 200 : b)), /header length 200 runs past the end/],
      ['header not JSON', handBuilt('{"w":', []), /not valid UTF-8 JSON/],
      ['header not an object', handBuilt('[1, 2]', []), /header is not a JSON object/],
      ['unknown dtype', handBuilt(t('{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}'), [0, 0]), /tensor 'w': unsupported dtype "BF16"/],
      ['bad shape', handBuilt(t('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}'), [0, 0, 0, 0]), /tensor 'w': invalid shape/],
      ['size mismatch', handBuilt(t('{"dtype":"F32","shape":[2],"data_offsets":[0,4]}'), [0, 0, 0, 0]), /tensor 'w': F32 shape \[2\] needs 8 bytes but data_offsets \[0, 4\] span 4/],
      ['offsets out of bounds', handBuilt(t('{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'), [0, 0]), /tensor 'w': .*run past the data section \(2 bytes\)/],
      ['reversed offsets', handBuilt(t('{"dtype":"U8","shape":[0],"data_offsets":[4,0]}'), []), /tensor 'w': data_offsets \[4, 0\] end before/],
      ['gap', handBuilt(t('{"dtype":"U8","shape":[1],"data_offsets":[1,2]}'), [0, 0]), /tensor 'w': .*leave a gap after byte 0/],
      ['overlap', handBuilt('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', [0, 0]), /tensor 'w': .*overlap/],
      ['trailing bytes', handBuilt(t('{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'), [0, 9]), /1 bytes after the last tensor/],
      ['metadata not strings', handBuilt('{"__metadata__":{"a":1}}', []), /__metadata__ 'a' is not a string/],
    ];
    for (const [name, bytes, re] of cases) {
      it(name, () => assert.throws(() => decodeSafetensors(bytes, 'bad.st'), (e: Error) => {
        assert.match(e.message, /^bad\.st: not a valid safetensors file: /);
        assert.match(e.message, re);
        return true;
      }));
    }

    it('a truncated file on disk', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ctrkit-st-'));
      try {
        const path = join(dir, 'cut.safetensors');
        const full = concat(encodeSafetensors(new Map([['emb.weight', { data: new Float32Array(100), shape: [25, 4] }]])));
        writeFileSync(path, full.subarray(0, full.length - 10));
        assert.throws(() => readSafetensors(path), (e: Error) => e.message.includes(path) && e.message.includes(`tensor 'emb.weight'`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
