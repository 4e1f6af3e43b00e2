import { z } from 'zod';

/*
 * The self-describing side of a batch: which feature sits where, by name and group. A Batch stores
 * features positionally (id columns, dense columns, sequences); models that address features by
 * name (DIN's behaviour/target pairs, a two-tower model's user and item groups) resolve names to
 * positions once, through this layout, when they are built, as TorchRec's KeyedJaggedTensor keys
 * its jagged values. The layout is saved with such a model so that loading rebuilds the same wiring.
 */

export const FEATURE_KINDS = ['id', 'dense', 'sequence'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

export const featureInfoSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(FEATURE_KINDS),
  /** Column of Batch.ids (id), of Batch.dense (dense), or index into Batch.sequences (sequence). */
  index: z.number().int().min(0),
  group: z.string().min(1).optional(),
  /** First global embedding id of the field's range and its size (id and sequence features). */
  offset: z.number().int().min(0).optional(),
  size: z.number().int().min(0).optional(),
  /** The id feature whose vocabulary (and embedding rows) a sequence shares. */
  vocab: z.string().min(1).optional(),
});
export type FeatureInfo = z.output<typeof featureInfoSchema>;

/** Thrown for a feature name or group a model asks for that the layout lacks; `key` is the config key. */
export class FeatureLookupError extends Error {
  constructor(readonly key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = 'FeatureLookupError';
  }
}

export class FeatureLayout {
  private readonly byName: Map<string, FeatureInfo>;

  constructor(readonly features: readonly FeatureInfo[]) {
    this.byName = new Map(features.map((f) => [f.name, f]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The feature `name` of kind `kind`; `key` names the config key that asked (for the error). */
  get(name: string, kind: FeatureKind, key: string): FeatureInfo {
    const f = this.byName.get(name);
    if (f !== undefined && f.kind === kind) return f;
    const names = this.features.filter((g) => g.kind === kind).map((g) => g.name);
    const what = f === undefined ? `no feature ${JSON.stringify(name)}` : `feature ${JSON.stringify(name)} is ${f.kind}, not ${kind}`;
    throw new FeatureLookupError(key, `${what} (${kind} features: ${names.join(', ') || 'none'})`);
  }

  /** The features of group `group`, in schema order (an unknown group is an error naming `key`). */
  group(group: string, key: string): FeatureInfo[] {
    const out = this.features.filter((f) => f.group === group);
    if (out.length === 0) {
      const groups = [...new Set(this.features.flatMap((f) => (f.group === undefined ? [] : [f.group])))];
      throw new FeatureLookupError(key, `no feature group ${JSON.stringify(group)} (groups: ${groups.join(', ') || 'none'})`);
    }
    return out;
  }
}
