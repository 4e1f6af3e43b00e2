/** Throughput timing with the protocol of torch_throughput.py: warm-up, then the median of windows. */
export interface Rate {
  median: number;
  min: number;
  max: number;
  steps: number;
}

/** Steps that fill a window of about `windowSec`, after 5 warm-up steps and `calibrateSec` of trial steps. */
export function windowSteps(step: (i: number) => void, windowSec: number, calibrateSec = 0.5): number {
  for (let i = 0; i < 5; i++) step(i);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < calibrateSec * 1000) step(n++);
  const per = (performance.now() - t0) / 1000 / n;
  return Math.max(1, Math.round(windowSec / per));
}

/** One window of `steps` steps from step index `from`: items per wall second and per process CPU second. */
export function timeWindow(step: (i: number) => void, steps: number, itemsPerStep: number, from = 0): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) step(from + s);
  const sec = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: (steps * itemsPerStep) / sec, cpu: (steps * itemsPerStep) / ((c.user + c.system) / 1e6) };
}

export function timedWindows(step: (i: number) => void, itemsPerStep: number, windows: number, windowSec: number): Rate {
  const steps = windowSteps(step, windowSec);
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) rates.push(timeWindow(step, steps, itemsPerStep, w * steps).wall);
  return { ...spread(rates), steps };
}

/** Median (the upper one of an even count), minimum and maximum. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

export interface Contender {
  /** One step (i counts this contender's steps, e.g. to cycle through batches). */
  step: (i: number) => void;
  itemsPerStep: number;
}

/**
 * `rounds` rounds of one window per contender, in turn (A, B, C, then C, B, A, …: no contender is
 * always first after a switch), so that a change of the machine's load reaches all of them alike
 * and a ratio taken within a round compares like with like. Returns each contender's windows,
 * [contender][round], as items per wall second and per process CPU second.
 */
export function interleavedRounds(contenders: readonly Contender[], rounds: number, windowSec: number, calibrateSec = 0.25): { wall: number; cpu: number }[][] {
  const next = contenders.map(() => 0);
  const steps = contenders.map((c) => windowSteps(c.step, windowSec, calibrateSec));
  const out = contenders.map(() => [] as { wall: number; cpu: number }[]);
  for (let r = 0; r < rounds; r++) {
    const order = contenders.map((_, k) => (r % 2 === 0 ? k : contenders.length - 1 - k));
    for (const k of order) {
      out[k]!.push(timeWindow(contenders[k]!.step, steps[k]!, contenders[k]!.itemsPerStep, next[k]!));
      next[k]! += steps[k]!;
    }
  }
  return out;
}
