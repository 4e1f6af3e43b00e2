/**
 * What a training checkpoint holds, and where checkpoints go. The trainer writes through a
 * `CheckpointStore`; the file-backed store (atomic directories on disk) lives in src/io.
 */
export interface TrainerState {
  /** Epochs completed. */
  epoch: number;
  /** Batches of the current epoch already trained (0 at an epoch boundary). */
  stepInEpoch: number;
  globalStep: number;
  /** Rng state at the start of the current epoch (to replay its order when resuming). */
  epochRngState: number[];
  /** Best validation metric so far and the epoch it was reached (null before any validation). */
  best: { metric: number; epoch: number } | null;
  epochsWithoutImprovement: number;
  /** One record per completed epoch (metrics by name). */
  history: Record<string, number>[];
  /**
   * Row-weighted training-loss sum and rows of the current epoch so far, so that an epoch's
   * mean loss is the same whether or not it was resumed. Optional: older checkpoints lack it.
   */
  epochLossSum?: number;
  epochRows?: number;
  /** TrainerOptions.auxiliary's states by name (JSON), as of this checkpoint. */
  auxiliary?: Record<string, unknown>;
}

export interface Checkpoint {
  /** Model tensors by name (Module.stateDict()). */
  model: Map<string, Float32Array>;
  optimizer: { stepCount: number; buffers: Map<string, Float32Array> };
  trainer: TrainerState;
  /**
   * The settings the run was trained under, as its caller described them (JSON; the trainer does
   * not read them), so that a resume can refuse different ones. Absent: none were given.
   */
  config?: unknown;
}

export type CheckpointTag = 'last' | 'best';

export interface CheckpointStore {
  /** Saves atomically: a reader sees the previous or the new checkpoint, never a mix. */
  save(tag: CheckpointTag, c: Checkpoint): void;
  load(tag: CheckpointTag): Checkpoint | null;
}

/** In-memory store (tests, and training runs that need no files); copies on save and load. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly saved = new Map<CheckpointTag, Checkpoint>();

  save(tag: CheckpointTag, c: Checkpoint): void {
    this.saved.set(tag, cloneCheckpoint(c));
  }

  load(tag: CheckpointTag): Checkpoint | null {
    const c = this.saved.get(tag);
    return c ? cloneCheckpoint(c) : null;
  }
}

export function cloneCheckpoint(c: Checkpoint): Checkpoint {
  const copy = (m: Map<string, Float32Array>): Map<string, Float32Array> => new Map([...m].map(([k, v]) => [k, v.slice()]));
  return {
    model: copy(c.model),
    optimizer: { stepCount: c.optimizer.stepCount, buffers: copy(c.optimizer.buffers) },
    trainer: JSON.parse(JSON.stringify(c.trainer)) as TrainerState,
    ...(c.config === undefined ? {} : { config: JSON.parse(JSON.stringify(c.config)) as unknown }),
  };
}
