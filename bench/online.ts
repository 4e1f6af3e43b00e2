/**
 * `npm run bench -- online [--dataset criteo|avazu|talkingdata] [--model lr|dnn|wdl] [--opt adagrad|adam|shampoo|shampoo-m]
 *  [--seeds 1,2,3,4,5] [--hash-buckets 32768] [--threads 1] [--json]`
 * (`npm run bench -- online --vs-epoch …`: the stream's cost against epoch training, bench/onlineCost.ts.)
 *
 * Online training with progressive validation (`train.online`) under the protocol of
 * ../shared/bench/torch_online_ref.py: the same streams in the same order (Criteo and Avazu in file
 * order, TalkingData sorted by click time), batch 256, one pass, each batch scored then trained on;
 * AdaGrad lr 0.05 (initial accumulator 0.1) or Adam lr 1e-3; ctrkit also runs Shampoo with AdaGrad
 * grafting (lr 0.05, inverse roots every 10 steps: the heads are 35–390 steps long), without and
 * with momentum 0.9 (shampoo-m), which the reference does not have; LogLoss over the stream and over its
 * last 20 % (the sliding window set to that many rows), AUC, mean p vs mean y, rows/s of the loop.
 * Printed beside the reference's figures from ../shared/bench/results/online when present.
 *
 * Differences that remain: fields are hashed per field (`--hash-buckets` rows each, FNV-1a) rather
 * than into one 2^20 table (blake2b); the reference's "dnn" is a wide & deep model (an LR part
 * beside the MLP), ctrkit's `wdl` (dnn with `wide: true`, compared with it) while ctrkit's `dnn` is
 * the MLP alone; the progressive AUC is the histogram AUC of src/metrics/progressive.ts (its
 * bound is printed), the reference's the exact one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseExperimentConfig } from '../src/experiment/config.js';
import { runOnlineTraining } from '../src/experiment/onlineRun.js';
import { onlineCostBench } from './onlineCost.js';
import { sharedDir } from './paths.js';
import { Reporter, flagValue, hasFlag } from './report.js';

interface Stream { source: object; labels: object[]; fields: object[]; rows: number }

const cat = (name: string): object => ({ name, kind: 'categorical' });

/** TalkingData as the reference streams it: sorted by (click_time, file row), hour of click_time as a column. */
function talkingdataSorted(dir: string, data: string): string {
  const lines = gunzipSync(readFileSync(join(data, 'talkingdata_adtracking_sample', 'train_sample.csv.gz'))).toString('utf8').trim().split('\n');
  const rows = lines.slice(1).map((l, i) => ({ f: l.split(','), i }));
  rows.sort((a, b) => (a.f[5]! < b.f[5]! ? -1 : a.f[5]! > b.f[5]! ? 1 : a.i - b.i));
  const out = join(dir, 'talkingdata_sorted.csv.gz');
  writeFileSync(out, gzipSync(['ip,app,device,os,channel,hour,is_attributed', ...rows.map(({ f }) => [...f.slice(0, 5), f[5]!.slice(11, 13), f[7]].join(','))].join('\n') + '\n'));
  return out;
}

function stream(name: string, dir: string): Stream {
  const data = join(sharedDir(), 'data');
  switch (name) {
    case 'criteo':
      return {
        source: { format: 'criteo', path: join(data, 'criteo_kaggle_dac_head10k', 'criteo_kaggle_train_head10k.txt.gz') },
        labels: [{ name: 'click', column: 'label' }],
        fields: [...Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, kind: 'numeric', transform: 'log-bucket' })), ...Array.from({ length: 26 }, (_, i) => cat(`C${i + 1}`))],
        rows: 10_000,
      };
    case 'avazu':
      return {
        source: { format: 'csv', path: join(data, 'avazu_head9k', 'avazu_train_head8999.csv.gz') },
        labels: [{ name: 'click' }],
        fields: ['hour', 'C1', 'banner_pos', 'site_id', 'site_domain', 'site_category', 'app_id', 'app_domain', 'app_category', 'device_id', 'device_ip',
          'device_model', 'device_type', 'device_conn_type', 'C14', 'C15', 'C16', 'C17', 'C18', 'C19', 'C20', 'C21'].map(cat),
        rows: 8999,
      };
    case 'talkingdata':
      return {
        source: { format: 'csv', path: talkingdataSorted(dir, data) },
        labels: [{ name: 'is_attributed' }],
        fields: ['ip', 'app', 'device', 'os', 'channel', 'hour'].map(cat),
        rows: 100_000,
      };
    default:
      throw new Error(`online bench: unknown dataset ${name} (criteo, avazu, talkingdata)`);
  }
}

/** The reference's summary line for this combination, when its results are there. */
function reference(ds: string, model: string, opt: string): Record<string, number> | undefined {
  const file = join(sharedDir(), 'bench', 'results', 'online', `${ds}_${model}_${opt}.jsonl`);
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return lines.find((l) => l.summary === true) as Record<string, number> | undefined;
}

const OPTIMIZERS: Readonly<Record<string, object>> = {
  adagrad: { type: 'adagrad', lr: 0.05, initialAccumulator: 0.1 },
  adam: { type: 'adam', lr: 1e-3 },
  shampoo: { type: 'shampoo', lr: 0.05, precondEvery: 10 },
  'shampoo-m': { type: 'shampoo', lr: 0.05, precondEvery: 10, momentum: 0.9 },
};

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const r5 = (x: number): number => Math.round(x * 1e5) / 1e5;

export async function onlineBench(argv: string[]): Promise<void> {
  // What the stream costs against epoch training on the same model: bench/onlineCost.ts.
  if (hasFlag(argv, '--vs-epoch')) return onlineCostBench(argv);
  const rep = new Reporter(hasFlag(argv, '--json'));
  const pick = (flag: string, all: string[]): string[] => flagValue(argv, flag)?.split(',') ?? all;
  const seeds = pick('--seeds', ['1', '2', '3', '4', '5']).map(Number);
  for (const o of pick('--opt', [])) if (!OPTIMIZERS[o]) throw new Error(`--opt ${o}: expected one of ${Object.keys(OPTIMIZERS).join(', ')}`);
  const buckets = Number(flagValue(argv, '--hash-buckets') ?? 32768);
  const threads = Number(flagValue(argv, '--threads') ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'ctrkit-online-bench-'));
  try {
    for (const ds of pick('--dataset', ['criteo', 'avazu', 'talkingdata'])) {
      const s = stream(ds, dir);
      const tail = s.rows - Math.floor(s.rows * 0.8);
      for (const model of pick('--model', ['lr', 'dnn', 'wdl'])) {
        for (const opt of pick('--opt', ['adagrad', 'adam', 'shampoo', 'shampoo-m'])) {
          const runs: { logloss: number; last20: number; auc: number; aucErr: number; meanP: number; meanY: number; rps: number }[] = [];
          for (const seed of seeds) {
            const cfg = parseExperimentConfig({
              data: { source: s.source, labels: s.labels, fields: s.fields },
              model: model === 'lr' ? { type: 'lr' } : { type: 'dnn', dim: 16, hidden: [256, 128], ...(model === 'wdl' && { wide: true }) },
              train: {
                epochs: 1, batchSize: 256, seed, threads, logEvery: 1000,
                optimizer: OPTIMIZERS[opt]!,
                online: { hashBuckets: buckets, window: tail },
              },
              output: join(dir, `${ds}-${model}-${opt}-${seed}`),
            }, `online bench ${ds}`);
            const r = await runOnlineTraining(cfg, { quiet: true });
            const p = r.progressive;
            runs.push({ logloss: p.logloss!, last20: p.window.logloss!, auc: p.auc!, aucErr: p.aucMaxError!, meanP: p.meanP!, meanY: p.meanY!, rps: r.rowsPerSecond });
            rmSync(r.output, { recursive: true, force: true });
          }
          // The reference's dnn has the wide part: it is the reference of both ctrkit rows.
          const ref = reference(ds, model === 'wdl' ? 'dnn' : model, opt);
          rep.row({
            dataset: ds, model, opt, seeds: seeds.length, rows: s.rows, hash_buckets_per_field: buckets, threads,
            pv_logloss: r5(mean(runs.map((x) => x.logloss))), pv_logloss_std: r5(std(runs.map((x) => x.logloss))),
            pv_logloss_last20: r5(mean(runs.map((x) => x.last20))),
            pv_auc: r5(mean(runs.map((x) => x.auc))), pv_auc_std: r5(std(runs.map((x) => x.auc))), pv_auc_max_error: r5(Math.max(...runs.map((x) => x.aucErr))),
            mean_p: r5(mean(runs.map((x) => x.meanP))), mean_y: r5(mean(runs.map((x) => x.meanY))),
            rows_per_s: Math.round(mean(runs.map((x) => x.rps))),
            ref_pv_logloss: ref?.pv_logloss_mean ?? null, ref_pv_logloss_last20: ref?.pv_logloss_last20_mean ?? null,
            ref_pv_auc: ref?.pv_auc_mean ?? null, ref_rows_per_s: ref?.rows_per_s_mean ?? null,
          });
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
