/**
 * Reading a model's weights file and checking it against the manifest's sha256: the I/O- and
 * hash-bound part of loading a model, kept free of model code so that a worker thread can run it
 * (src/serve/weightsWorker.ts) while the server's event loop keeps answering.
 */
import { existsSync } from 'node:fs';
import { ModelFileError } from './modelFileError.js';
import { sha256File } from './provenance.js';
import { readSafetensors } from './safetensors.js';

export type WeightTensors = ReturnType<typeof readSafetensors>['tensors'];

/** The weights file's tensors, after its sha256 is checked against the manifest's (`shared`: see readSafetensors). */
export function readVerifiedWeights(weightsPath: string, sha256: string, opts: { shared?: boolean } = {}): WeightTensors {
  if (!existsSync(weightsPath)) throw new ModelFileError(`${weightsPath}: weights file named by the manifest is missing`);
  const digest = sha256File(weightsPath);
  if (digest !== sha256) {
    throw new ModelFileError(`${weightsPath}: sha256 ${digest} does not match the manifest's ${sha256} (damaged file, or weights from another model)`);
  }
  try {
    return readSafetensors(weightsPath, opts).tensors;
  } catch (e) {
    throw new ModelFileError((e as Error).message);
  }
}
