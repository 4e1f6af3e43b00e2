/**
 * A column that rides along with the rows as one more (graded) label — read, checked per line,
 * split, sampled and cached with them — and is taken off again before training (a teacher's
 * probabilities, the position of position-based sampling). The model never sees it as a label.
 */
import type { Dataset } from '../data/dataset.js';
import { FittedSchema } from './fitted.js';

/** `ds` without its label `name`, and that label's values (undefined: no such label). */
export function takeLabel(ds: Dataset, name: string): { dataset: Dataset; values: Float32Array | undefined } {
  const k = ds.labelNames.indexOf(name);
  if (k < 0) return { dataset: ds, values: undefined };
  return { dataset: { ...ds, labels: ds.labels.filter((_, i) => i !== k), labelNames: ds.labelNames.filter((_, i) => i !== k) }, values: ds.labels[k]! };
}

/** `fitted` without its label `name` (what the model directory records). */
export function withoutLabel(fitted: FittedSchema, name: string): FittedSchema {
  const { spec } = fitted;
  if (!spec.labels.some((l) => l.name === name)) return fitted;
  return new FittedSchema({ ...spec, labels: spec.labels.filter((l) => l.name !== name) });
}
