/**
 * `ctrkit export --model DIR --format onnx -o FILE`: a saved model as an ONNX graph (src/io/onnx);
 * `--format item-vectors -i ITEMS -o CSV`: a two-tower model's item vectors for each row of ITEMS.
 */
import { Command, Option } from 'commander';
import { itemVectorsOfFile } from '../../experiment/itemVectors.js';
import { loadScoringModel } from '../../experiment/scoring.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeOnnxExport, SCHEMA_SUFFIX } from '../../io/onnx/index.js';
import { asUserErrors, checkInputFile, checkOutputFile, fsErrorMessage } from '../userErrors.js';
import { CliError } from '../errors.js';
import type { Precision } from '../../nn/quantize.js';

interface ExportOptions {
  model: string;
  format: 'onnx' | 'item-vectors';
  output: string;
  input?: string;
  labels: boolean;
  precision: Precision;
}

/** CSV `line,v0,…,v{dim−1}`: 9 significant digits round-trip float32. */
function vectorsCsv(lines: Uint32Array, dim: number, vectors: Float32Array): Buffer {
  const out = [['line', ...Array.from({ length: dim }, (_, d) => `v${d}`)].join(',')];
  for (let i = 0; i < lines.length; i++) {
    const row = [String(lines[i])];
    for (let d = 0; d < dim; d++) row.push(vectors[i * dim + d]!.toPrecision(9));
    out.push(row.join(','));
  }
  return Buffer.from(`${out.join('\n')}\n`, 'utf8');
}

async function exportItemVectors(o: ExportOptions): Promise<void> {
  if (o.input === undefined) throw new CliError(`--format item-vectors needs -i, --input: the items file (the model's input format)`);
  checkInputFile(o.input);
  const v = await asUserErrors(() => itemVectorsOfFile(o.model, o.input!, { labels: o.labels }));
  try {
    writeFileAtomic(o.output, [vectorsCsv(v.lines, v.dim, v.vectors)]);
  } catch (e) {
    throw new CliError(fsErrorMessage(e, o.output, 'cannot write: ') ?? `${o.output}: cannot write (${(e as Error).message})`);
  }
  process.stdout.write(`${JSON.stringify({ vectors: o.output, rows: v.lines.length, dim: v.dim })}\n`);
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a saved model to another format (ONNX), or a two-tower model\'s item vectors')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .addOption(new Option('--format <format>', 'output format').choices(['onnx', 'item-vectors']).default('onnx'))
    .requiredOption('-o, --output <file>', 'file to write, e.g. model.onnx or vectors.csv')
    .option('-i, --input <file>', 'item-vectors: the items, one per row, in the model\'s input format')
    .option('--labels', 'item-vectors: the items file has the label column(s)', false)
    .addOption(new Option('--precision <p>', 'onnx: dense-layer precision, fp32 or int8 (DNN / DCN-v2: int8 weights per column, inputs quantised in the graph)').choices(['fp32', 'int8']).default('fp32'))
    .addHelpText('after', `
Writes an ONNX graph (opset 17) that maps encoded rows to the probability \`ctrkit predict\`
reports (the calibration, or sigmoid with the sampling correction, is part of the graph; output
"logit" is the model logit before it), and FILE${SCHEMA_SUFFIX}: the fitted schema (vocabularies,
hash buckets, boundaries, dense transforms) with the inputs' names, shapes and encoding rules, so
raw rows can be encoded to the graph's inputs. Both files are written atomically. See
docs/serving.md, "ONNX export". --precision int8 (DNN, DCN-v2) writes each full-rank dense layer
as onnxruntime's dynamic quantisation does: int8 weights with a scale per column (those of
\`ctrkit predict --precision int8\`), the input quantised per tensor to uint8 in the graph
(DynamicQuantizeLinear), MatMulInteger, the int32 sums scaled back to float.

--format item-vectors (model type twotower) writes a CSV \`line,v0,…\`: the item tower's vector of
each row of the --input file (its input line, then outDim values). Only the item-group columns
matter; the others may be empty. A request's logits are then ⟨u, v⟩ + b: see TwoTower.scoreWithItemVectors.`)
    .action(async (o: ExportOptions) => {
      checkOutputFile(o.output);
      if (o.format === 'item-vectors') {
        if (o.precision !== 'fp32') throw new CliError(`--precision is for --format onnx`);
        return exportItemVectors(o);
      }
      if (o.input !== undefined) throw new CliError(`-i, --input is for --format item-vectors`);
      const written = await asUserErrors(async () => {
        const { model, manifest, fitted } = loadScoringModel(o.model);
        try {
          return writeOnnxExport(model, manifest, fitted, o.output, o.precision);
        } catch (e) {
          const fs = fsErrorMessage(e, o.output, 'cannot write: ');
          if (fs) throw new CliError(fs);
          throw e;
        }
      });
      process.stdout.write(`${JSON.stringify({ onnx: written.onnx, schema: written.schema, bytes: written.bytes })}\n`);
    });
}
