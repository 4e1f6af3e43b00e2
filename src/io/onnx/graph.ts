/** A small builder of ONNX graphs: named constants, nodes with generated output names, the ops the exporter uses. */
import type { Precision } from '../../nn/quantize.js';
import { DataType, type Attribute, type DataTypeCode, type GraphSpec, type NodeSpec, type TensorInit, type ValueInfo } from './proto.js';

export class GraphBuilder {
  /** How dense layers are written: fp32 MatMul, or int8 weights with dynamically quantised inputs (layers.ts `linear`). */
  constructor(readonly precision: Precision = 'fp32') {}

  private readonly nodes: NodeSpec[] = [];
  private readonly inits: TensorInit[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private counter = 0;

  input(name: string, type: DataTypeCode, dims: readonly (number | string)[]): string {
    this.inputs.push({ name, type, dims });
    return name;
  }

  /** Names `value` as a graph output (through an Identity, so any value can be one). */
  output(name: string, value: string, type: DataTypeCode, dims: readonly (number | string)[]): void {
    this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], name: `out_${name}` });
    this.outputs.push({ name, type, dims });
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  floats(name: string, data: Float32Array, dims: readonly number[]): string {
    const n = this.fresh(name);
    this.inits.push({ name: n, type: DataType.FLOAT, dims, data });
    return n;
  }

  doubles(name: string, data: Float64Array, dims: readonly number[]): string {
    const n = this.fresh(name);
    this.inits.push({ name: n, type: DataType.DOUBLE, dims, data });
    return n;
  }

  int64s(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const n = this.fresh(name);
    this.inits.push({ name: n, type: DataType.INT64, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return n;
  }

  int8s(name: string, data: Int8Array, dims: readonly number[]): string {
    const n = this.fresh(name);
    this.inits.push({ name: n, type: DataType.INT8, dims, data });
    return n;
  }

  scalar(name: string, v: number): string {
    return this.floats(name, Float32Array.of(v), []);
  }

  op(op: string, inputs: readonly string[], attrs?: readonly Attribute[]): string {
    return this.ops(op, inputs, 1, attrs)[0]!;
  }

  /** A node with `count` outputs (e.g. DynamicQuantizeLinear's value, scale and zero point). */
  ops(op: string, inputs: readonly string[], count: number, attrs?: readonly Attribute[]): string[] {
    const first = this.fresh(op.toLowerCase());
    const outputs = Array.from({ length: count }, (_, i) => (i === 0 ? first : `${first}_${i}`));
    this.nodes.push({ op, inputs, outputs, name: `n_${first}`, ...(attrs && { attrs }) });
    return outputs;
  }

  /** ReduceSum over `axes` (opset 13: axes are an input). */
  reduceSum(x: string, axes: readonly number[], keepDims: boolean): string {
    return this.op('ReduceSum', [x, this.int64s('axes', axes)], [{ name: 'keepdims', int: keepDims ? 1 : 0 }]);
  }

  /** Reshape to `shape`; 0 copies the input's size on that axis (the batch), -1 is inferred. */
  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.int64s('shape', shape)]);
  }

  build(name: string): GraphSpec {
    return { name, nodes: this.nodes, initializers: this.inits, inputs: this.inputs, outputs: this.outputs };
  }
}
