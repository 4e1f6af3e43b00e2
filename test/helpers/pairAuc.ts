/** AUC straight from its definition (every positive–negative pair, ties ½): an independent check of the metrics code. */
export function pairAuc(p: readonly number[], y: readonly number[]): number {
  let num = 0, pairs = 0;
  for (let i = 0; i < p.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < p.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      num += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return num / pairs;
}
