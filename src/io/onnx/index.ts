/**
 * `ctrkit export --format onnx`: the graph (export.ts) and, beside it, `<file>.schema.json`: what
 * a user needs to encode raw rows into the graph's inputs — the fitted schema as the model manifest
 * stores it (vocabularies in id order, hash buckets, boundaries, dense transforms), the inputs'
 * names and shapes, and the calibration the graph applies.
 */
import { basename } from 'node:path';
import type { CTRModel } from '../../models/ctrModel.js';
import type { FittedSchema } from '../../schema/fitted.js';
import type { Precision } from '../../nn/quantize.js';
import { writeFileAtomic } from '../atomic.js';
import type { ModelManifest } from '../modelFile.js';
import { ctrkitVersion } from '../provenance.js';
import { exportOnnx, ONNX_OPSET } from './export.js';

export { exportOnnx, OnnxExportError, ONNX_OPSET, type OnnxExport, type OnnxOutput } from './export.js';
export { onnxFeeds, type OnnxFeed } from './feeds.js';

export const SCHEMA_SUFFIX = '.schema.json';

const ENCODING = [
  'ids[n, j]: the local id of id field j (fitted.fields[j]) in row n: vocab fields 1 + the index of the token in vocabulary (log-bucket fields: the token floor(ln(v)^2) for v > 2, else v), 0 for a token outside it or a missing value; hash fields fnv1a32(utf8 token) mod buckets (logBucket: true, as online training writes them: the token is the log bucket above); bucketize fields 0 = missing, 1 + i for the bucket i',
  'seq_<q>_ids / seq_<q>_mask: sequence field q (fitted.sequences[q]) split on its separator, the last maxLength tokens, local ids as for id fields, padded to a common length L with mask 0',
  'dense[n, d]: fitted.dense[d] after its transform (identity; log: ln(1 + max(v, 0)); standardize: (v - mean) / std), 0 when missing',
];

export interface WrittenExport {
  onnx: string;
  schema: string;
  bytes: number;
}

/** Writes `out` and `out`.schema.json atomically. */
export function writeOnnxExport(model: CTRModel, manifest: ModelManifest, fitted: FittedSchema, out: string, precision: Precision = 'fp32'): WrittenExport {
  const { chunks, inputs, outputs } = exportOnnx(model, manifest, fitted, ctrkitVersion(), precision);
  const sidecar = {
    format: 'ctrkit-onnx-schema',
    version: 1,
    onnx: basename(out),
    opset: ONNX_OPSET,
    precision,
    model: manifest.model,
    inputs,
    outputs,
    encoding: ENCODING,
    fieldOffsets: Array.from(fitted.fieldOffsets),
    sequenceOffsets: Array.from(fitted.sequenceOffsets),
    calibration: manifest.calibration ?? null,
    sampling: manifest.sampling ?? null,
    schema: manifest.schema,
  };
  writeFileAtomic(out, chunks);
  const schema = `${out}${SCHEMA_SUFFIX}`;
  writeFileAtomic(schema, `${JSON.stringify(sidecar, null, 1)}\n`);
  return { onnx: out, schema, bytes: chunks.reduce((s, c) => s + c.length, 0) };
}
