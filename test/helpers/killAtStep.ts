/** A `ctrkit train` run fed on standard input and killed with SIGKILL mid-stream (the online exact-resume tests). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseMetricLog } from '../../src/train/metricLog.js';

/** The global steps of the `step` records of a JSONL log (none while it does not exist). */
export function loggedSteps(log: string): number[] {
  return existsSync(log) ? parseMetricLog(readFileSync(log, 'utf8')).filter((r) => r.event === 'step').map((r) => r.globalStep) : [];
}

/**
 * Starts `node cli train config -q`, writes `input` to its standard input (left open: the run waits
 * for more), and kills it with SIGKILL once `log` records optimiser step `step` (60 s at most).
 */
export async function killAtStep(cli: string, cwd: string, config: string, log: string, input: string, step: number): Promise<void> {
  const child = spawn(process.execPath, [cli, 'train', config, '-q'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.stdin.write(input);
  const deadline = Date.now() + 60_000;
  while (!loggedSteps(log).includes(step)) {
    assert.ok(Date.now() < deadline, `no step ${step} in time; stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await exited;
}
