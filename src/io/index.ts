/** Model files, checkpoints and the file formats and write discipline under them. */
export { ensureDir, writeFileAtomic, publishDirAtomic, recoverPublishedDir } from './atomic.js';
export { encodeSafetensors, decodeSafetensors, writeSafetensors, readSafetensors } from './safetensors.js';
export type { DType, TensorData, TensorInput, LoadedTensor, SafetensorsContents } from './safetensors.js';
export { saveModel, loadModel, ModelFileError, MODEL_FORMAT_VERSION, MANIFEST_FILE, WEIGHTS_FILE } from './modelFile.js';
export type { ModelManifest, SaveModelOptions, Provenance, JsonValue, SamplingRecord } from './modelFile.js';
export { FileCheckpointStore, CHECKPOINT_FORMAT_VERSION } from './checkpointStore.js';
export { dataHash, sha256File, ctrkitVersion } from './provenance.js';
export { assertFinite, NonFiniteWeightsError } from './finite.js';
