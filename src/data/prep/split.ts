/** Half-open row range [start, end). */
export interface RowRange {
  start: number;
  end: number;
}

/** The file-order split of the benchmark: fit rows, validation tail of the train split, test. */
export interface SplitBounds {
  n: number;
  /** Rows of the train split, n * 8 // 10. */
  nTrain: number;
  /** Rows trained on (and counted for vocabularies), nTrain * 9 // 10. */
  nFit: number;
  fit: RowRange;
  validation: RowRange;
  test: RowRange;
}

export interface SplitFractions {
  /** Train share of n as a ratio of integers (default 8/10), to replicate Python's integer division. */
  train?: [number, number];
  /** Fit share of the train split (default 9/10). */
  fit?: [number, number];
}

/** Rows in file order: [0, nFit) fit, [nFit, nTrain) validation, [nTrain, n) test. */
export function fileOrderSplit(n: number, fractions: SplitFractions = {}): SplitBounds {
  const [tn, td] = fractions.train ?? [8, 10];
  const [fn, fd] = fractions.fit ?? [9, 10];
  // n * tn stays exact in doubles for any realistic n (< 2^49 rows).
  const nTrain = Math.floor((n * tn) / td);
  const nFit = Math.floor((nTrain * fn) / fd);
  return {
    n, nTrain, nFit,
    fit: { start: 0, end: nFit },
    validation: { start: nFit, end: nTrain },
    test: { start: nTrain, end: n },
  };
}
