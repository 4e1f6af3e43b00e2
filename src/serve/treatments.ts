/**
 * POST /v1/treatments for a Q·U model: every candidate row (query, ad: the features the U net
 * does not read) under every UI treatment (the features U reads), [rows × treatments]
 * probabilities from one Q-pass per row, one U-pass per treatment and one matrix product
 * (QU.scoreTreatments), mapped to the probabilities /v1/predict serves, on the scoring thread (or
 * the event loop where it falls back). Entry (n, k) equals
 * /v1/predict on the row combining candidate n with treatment k to float32 rounding of the dot
 * product (the GEMM sums it in its own order).
 */
import { endStep, noGrad } from '../autograd/tape.js';
import { RowGatherer } from '../data/batching.js';
import type { Dataset } from '../data/dataset.js';
import type { RawValue } from '../data/prep/field.js';
import { QU } from '../models/qu.js';
import type { StoredColumns } from '../schema/index.js';
import { isRecord, readPredictBody, RequestError } from './request.js';
import { fillerValue, weightsOf, type ModelSnapshot } from './snapshot.js';
import { MAX_RANK_PAIRS, topItems } from './rank.js';
import type { ThreadScorer } from './scoringThread.js';

/** Which features a candidate row gives and which a treatment gives, for a Q·U snapshot. */
export interface TreatmentSplit {
  /** The U net's features (filled in candidate rows). */
  treatment: ReadonlyMap<number, RawValue>;
  /** Every other feature (filled in treatment rows). */
  candidate: ReadonlyMap<number, RawValue>;
}

/** The split of a Q·U snapshot's features (from its manifest: no weights needed), or a 404 RequestError saying why this model has none. */
export function treatmentSplit(s: ModelSnapshot): TreatmentSplit {
  const cfg = s.manifest.model;
  if (cfg.type !== 'qu') throw new RequestError(`this model scores no treatments (POST /v1/treatments needs a Q·U model, type qu; this one is '${cfg.type}')`, undefined, undefined, 404);
  const spec = s.fitted.spec;
  const groups = new Map(s.fitted.features().map((f) => [f.name, f.group]));
  const treatment = new Map<number, RawValue>();
  const candidate = new Map<number, RawValue>();
  s.features.forEach((f, i) => {
    const g = groups.get(f.name);
    const inU = g !== undefined && cfg.u.includes(g);
    if (inU && cfg.q.includes(g)) {
      throw new RequestError(`this model's q and u groups share the group ${JSON.stringify(g)} (feature ${f.name}): its treatments cannot be scored apart`, undefined, undefined, 404);
    }
    (inU ? treatment : candidate).set(i, fillerValue(spec, i));
  });
  return { treatment, candidate };
}

export interface TreatmentRequest {
  /** Rows and treatments, encoded (readPredictBody). */
  rows: StoredColumns;
  treatments: StoredColumns;
  top: number | undefined;
}

export function readTreatmentBody(body: unknown, s: ModelSnapshot, split: TreatmentSplit, maxRows: number): TreatmentRequest {
  const rows = readPredictBody(body, s.features, s.encoder, maxRows, {
    keys: ['treatments', 'top'], implied: split.treatment, impliedWhy: 'is a treatment feature (the U net reads it): give it in "treatments"',
  });
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.treatments) || b.treatments.length === 0) {
    throw new RequestError(`must be a non-empty array of treatment objects, got ${isRecord(b.treatments) ? 'an object' : JSON.stringify(b.treatments) ?? 'nothing'}`, undefined, 'treatments');
  }
  let treatments: StoredColumns;
  try {
    treatments = readPredictBody({ rows: b.treatments }, s.features, s.encoder, maxRows, {
      implied: split.candidate, impliedWhy: 'is not a treatment feature (the U net does not read it): give it in "rows" or "context"',
    });
  } catch (e) {
    if (!(e instanceof RequestError)) throw e;
    // readPredictBody names rows; these are treatments.
    const where = e.row === undefined ? (e.field === 'rows' ? undefined : e.field) : `${e.row}]${e.field === undefined ? '' : `.${e.field}`}`;
    throw new RequestError(e.detail, undefined, where === undefined ? 'treatments' : e.row === undefined ? `treatments.${where}` : `treatments[${where}`);
  }
  let top: number | undefined;
  if (b.top !== undefined) {
    if (typeof b.top !== 'number' || !Number.isInteger(b.top) || b.top < 1) throw new RequestError(`must be a positive integer, got ${JSON.stringify(b.top)}`, undefined, 'top');
    top = b.top;
  }
  const pairs = rows.numRows * treatments.numRows;
  if (pairs > MAX_RANK_PAIRS) {
    throw new RequestError(`${rows.numRows} rows × ${treatments.numRows} treatments is ${pairs} scores, more than ${MAX_RANK_PAIRS} per request`, undefined, 'rows');
  }
  return { rows, treatments, top };
}

/** All of `ds`'s rows as one batch. */
function batchOf(ds: Dataset): ReturnType<RowGatherer['gatherRange']> {
  return new RowGatherer(ds).gatherRange(0, ds.numRows);
}

/** Probabilities [rows × treatments], row-major, where the snapshot's weights are (the scoring thread, or the event loop where it falls back). */
export function treatmentScores(s: ModelSnapshot, rows: StoredColumns, treatments: StoredColumns): Float64Array {
  const model = weightsOf(s).model;
  if (!(model instanceof QU)) throw new Error(`model ${s.version}: not a Q·U model`);
  const candidates = s.fitted.toDataset(rows);
  const uis = s.fitted.toDataset(treatments);
  let logits = new Float32Array(0);
  model.eval();
  noGrad(() => {
    logits = model.scoreTreatments(batchOf(candidates), batchOf(uis)).data.slice();
    endStep();
  });
  return s.probabilities.apply(logits);
}

/** A request's scores: on the scoring thread (`thread`), or here where it falls back. */
export async function scoreTreatments(s: ModelSnapshot, r: TreatmentRequest, thread?: ThreadScorer): Promise<Float64Array> {
  if (r.rows.numRows === 0) return new Float64Array(0);
  const there = await thread?.run({ kind: 'treatments', rows: r.rows, treatments: r.treatments });
  return there?.[0] ?? treatmentScores(s, r.rows, r.treatments);
}

/** The answer: every row's scores in treatment order, or with `top` each row's best treatments (indices into "treatments"). */
export function treatmentAnswer(version: string, r: TreatmentRequest, scores: Float64Array): Record<string, unknown> {
  const k = r.treatments.numRows;
  const n = r.rows.numRows;
  if (r.top !== undefined) return { model: version, ...rename(topItems(scores, Array.from({ length: k }, (_, i) => i), n, r.top)) };
  return { model: version, scores: Array.from({ length: n }, (_, i) => Array.from(scores.subarray(i * k, (i + 1) * k))) };
}

function rename(t: { items: number[][]; scores: number[][] }): { treatments: number[][]; scores: number[][] } {
  return { treatments: t.items, scores: t.scores };
}
