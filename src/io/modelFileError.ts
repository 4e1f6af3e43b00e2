/** A model directory that cannot be loaded: missing, damaged or inconsistent files (named in the message). */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}
