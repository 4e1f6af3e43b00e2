/** A minimal in-memory Dataset of categorical ids and one label, for tests. */
import type { Dataset } from '../../src/data/dataset.js';

export function idsDataset(ids: Int32Array, labels: Float32Array, numFields: number, numIds: number): Dataset {
  const per = Math.floor(numIds / numFields);
  return {
    numRows: labels.length, numFields, fieldNames: Array.from({ length: numFields }, (_, j) => `f${j}`), ids,
    fieldSizes: new Int32Array(numFields).fill(per), fieldOffsets: Int32Array.from({ length: numFields }, (_, j) => j * per),
    numIds, labels: [labels], labelNames: ['y'],
  };
}
