/** `ctrkit export --model DIR --format onnx -o FILE`: a saved model as an ONNX graph (src/io/onnx). */
import { Command, Option } from 'commander';
import { loadScoringModel } from '../../experiment/scoring.js';
import { writeOnnxExport, SCHEMA_SUFFIX } from '../../io/onnx/index.js';
import { asUserErrors, checkOutputFile, fsErrorMessage } from '../userErrors.js';
import { CliError } from '../errors.js';

interface ExportOptions {
  model: string;
  format: 'onnx';
  output: string;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a saved model to another format (ONNX)')
    .requiredOption('-m, --model <dir>', 'model directory written by ctrkit train')
    .addOption(new Option('--format <format>', 'output format').choices(['onnx']).default('onnx'))
    .requiredOption('-o, --output <file>', 'file to write, e.g. model.onnx')
    .addHelpText('after', `
Writes an ONNX graph (opset 17) that maps encoded rows to the probability \`ctrkit predict\`
reports (the calibration, or sigmoid with the sampling correction, is part of the graph; output
"logit" is the model logit before it), and FILE${SCHEMA_SUFFIX}: the fitted schema (vocabularies,
hash buckets, boundaries, dense transforms) with the inputs' names, shapes and encoding rules, so
raw rows can be encoded to the graph's inputs. Both files are written atomically. See
docs/serving.md, "ONNX export".`)
    .action(async (o: ExportOptions) => {
      checkOutputFile(o.output);
      const written = await asUserErrors(async () => {
        const { model, manifest, fitted } = loadScoringModel(o.model);
        try {
          return writeOnnxExport(model, manifest, fitted, o.output);
        } catch (e) {
          const fs = fsErrorMessage(e, o.output, 'cannot write: ');
          if (fs) throw new CliError(fs);
          throw e;
        }
      });
      process.stdout.write(`${JSON.stringify({ onnx: written.onnx, schema: written.schema, bytes: written.bytes })}\n`);
    });
}
