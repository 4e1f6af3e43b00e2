/**
 * CPU seconds of the calling thread alone (Linux: utime + stime of /proc/thread-self/stat, in
 * clock ticks of 1/100 s), or undefined where that file cannot be read. process.cpuUsage() counts
 * every thread of the process; this is what the training thread spends without its read-ahead
 * worker — what bounds a loop's wall time when the worker has a core of its own.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export function threadCpuSeconds(): number | undefined {
  return statCpuSeconds('/proc/thread-self/stat');
}

/** utime + stime in seconds of a /proc stat file (a thread's, or a process's: `/proc/<pid>/stat`), or undefined where it cannot be read. */
export function statCpuSeconds(file: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: the fields are counted after its closing parenthesis.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}
