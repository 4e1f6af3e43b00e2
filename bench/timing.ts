/** Throughput timing with the protocol of torch_throughput.py: warm-up, then the median of windows. */
export interface Rate {
  median: number;
  min: number;
  max: number;
  steps: number;
}

export function timedWindows(step: (i: number) => void, itemsPerStep: number, windows: number, windowSec: number): Rate {
  for (let i = 0; i < 5; i++) step(i);
  let t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 500) step(n++);
  const per = (performance.now() - t0) / 1000 / n;
  const steps = Math.max(1, Math.round(windowSec / per));
  const rates: number[] = [];
  let k = 0;
  for (let w = 0; w < windows; w++) {
    t0 = performance.now();
    for (let s = 0; s < steps; s++) step(k++);
    rates.push((steps * itemsPerStep) / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { median: rates[Math.floor(rates.length / 2)]!, min: rates[0]!, max: rates[rates.length - 1]!, steps };
}
