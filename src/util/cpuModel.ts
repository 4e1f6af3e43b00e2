/**
 * The CPU in words, for figures that must say where they were measured: /proc/cpuinfo's model
 * name with vendor, family and model, because os.cpus() may only say "AMD EPYC" on a VM, which
 * does not tell Zen 3 from Zen 5.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string): string => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '?';
    // The extensions the int8 and bf16 kernels take when the CPU has them.
    const isa = ['avx512_vnni', 'avx512_bf16'].filter((f) => new RegExp(`\\b${f}\\b`).test(info)).map((f) => `, ${f}`).join('');
    return `${field('model name')} (${field('vendor_id')} family ${field('cpu family')} model ${field('model')}${isa})`;
  } catch {
    return cpus()[0]?.model.trim() ?? 'unknown';
  }
}
