/**
 * Forward FLOPs per example of a DCN-v2, exact from its sizes: the cost the efficiency search
 * (SPEC §6) holds to a target. A dense layer in → out costs 2·in·out (one multiply and one add
 * per weight) + out (its bias); a low-rank one 2·in·r + 2·r·out + out; a cross layer adds 2·d
 * (x0 ⊙ term, + x_l). Embedding lookups are memory traffic, not arithmetic, and activations are
 * the same for every candidate of a width, so neither is counted.
 */
import type { DCNv2Config } from './dcnv2.js';

type Sizes = Pick<DCNv2Config, 'numFields' | 'numSequences' | 'denseDim' | 'dim' | 'hidden' | 'crossLayers' | 'crossRank' | 'rank' | 'structure' | 'logits'>;

function dense(inDim: number, outDim: number, rank?: number): number {
  return rank !== undefined && rank > 0 ? 2 * inDim * rank + 2 * rank * outDim + outDim : 2 * inDim * outDim + outDim;
}

export function dcnv2Flops(c: Sizes): number {
  const d = (c.numFields + (c.numSequences ?? 0)) * c.dim + (c.denseDim ?? 0);
  const logits = c.logits ?? 1;
  let flops = c.crossLayers * (dense(d, d, c.crossRank) + 2 * d);
  let prev = d;
  for (const h of c.hidden) {
    flops += dense(prev, h, c.rank);
    prev = h;
  }
  // Stacked: the MLP reads the cross output and ends in the logit layer; parallel: a head reads both.
  flops += c.structure === 'stacked' ? dense(prev, logits) : dense(d + prev, logits);
  return flops;
}
