/** The stderr notes `eval` and `predict` share about how a file was read against its model. */
import type { ScoredFile } from '../../experiment/scoring.js';
import { oovShares } from '../../schema/index.js';

/** Says that a file was read without a header line (undefined when it had one). */
export function headerNote(command: string, file: string, s: ScoredFile): string | undefined {
  if (!s.headerless) return undefined;
  return `ctrkit ${command}: ${file} has no header line; read with the training file's columns\n`;
}

export interface OovSummary {
  /** Mean over the vocabulary fields of the share of rows whose token the model never saw. */
  mean: number;
  max: number;
  max_field: string;
}

/** The drift check in brief (`ctrkit data inspect FILE -m MODEL` has it per field); undefined without vocabulary fields. */
export function oovSummary(s: ScoredFile): OovSummary | undefined {
  const fields = oovShares(s.fitted, s.dataset).filter((f): f is { name: string; oovShare: number } => f.oovShare !== null);
  if (fields.length === 0) return undefined;
  const top = fields.reduce((a, b) => (b.oovShare > a.oovShare ? b : a));
  return { mean: fields.reduce((a, f) => a + f.oovShare, 0) / fields.length, max: top.oovShare, max_field: top.name };
}
