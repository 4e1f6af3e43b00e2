/**
 * cpuModel (src/util/cpuModel.ts): benchmark figures and run summaries name the CPU by family and
 * model, which os.cpus() alone does not on a VM ("AMD EPYC").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cpuModel } from '../../src/util/cpuModel.js';

describe('cpuModel', () => {
  it("gives /proc/cpuinfo's model name with its vendor, family and model", { skip: !existsSync('/proc/cpuinfo') && 'no /proc/cpuinfo here' }, (t) => {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    // "model name\t: …" and "model\t\t: 2": the first line of each, read independently of cpuModel's regex.
    const first = (prefix: string): string | undefined => info.split('\n').find((l) => l.startsWith(prefix))?.split(':')[1]?.trim();
    const name = first('model name');
    if (name === undefined) return t.skip('this cpuinfo has no model name (not x86): cpuModel falls back to os.cpus()');
    const s = cpuModel();
    assert.ok(s.startsWith(name), s);
    assert.ok(s.includes(`${first('vendor_id')} family ${first('cpu family')} model ${first('model\t')}`), s);
    // The int8 and bf16 kernels' extensions are named exactly when the CPU has them.
    for (const f of ['avx512_vnni', 'avx512_bf16']) assert.equal(s.includes(f), new RegExp(`\\b${f}\\b`).test(info), `${f}: ${s}`);
  });
});
