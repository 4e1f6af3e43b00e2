/** What a model family's builder gives the exporter. */
export interface ModelGraph {
  /** Each head's logit, [N, 1] or [N]: the key '' for a model with one output. */
  heads: Record<string, string>;
  /** Further float outputs [N, dim] (a tower's vectors), in output order. */
  vectors?: { name: string; value: string; dim: number }[];
}
