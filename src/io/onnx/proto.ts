/**
 * The protobuf wire encoding of the subset of onnx.proto (ONNX IR ≥ 8) the exporter writes:
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw_data only) and
 * ValueInfoProto with tensor types. Field numbers are onnx.proto's; only encoding is needed, so a
 * few dozen lines replace a protobuf runtime and a vendored .proto.
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT8: 3, INT64: 7, DOUBLE: 11 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export interface TensorInit {
  name: string;
  type: DataTypeCode;
  dims: readonly number[];
  /** Little-endian element bytes (x86 and ARM typed arrays are). */
  data: Float32Array | Float64Array | BigInt64Array | Int8Array;
}

export type Attribute =
  | { name: string; int: number }
  | { name: string; ints: readonly number[] }
  | { name: string; float: number };

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attrs?: readonly Attribute[];
}

export interface ValueInfo {
  name: string;
  type: DataTypeCode;
  /** A number is a fixed size, a string a symbolic one (e.g. 'N'). */
  dims: readonly (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorInit[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
}

export interface ModelSpec {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  metadata: Readonly<Record<string, string>>;
  graph: GraphSpec;
}

type Chunk = Uint8Array;

/** Varint of a non-negative or negative (two's complement, 10 bytes) 64-bit integer. */
function varint(v: number | bigint): Chunk {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

const tag = (field: number, wire: 0 | 2 | 5): Chunk => varint((field << 3) | wire);
const intField = (field: number, v: number | bigint): Chunk[] => [tag(field, 0), varint(v)];
const bytesField = (field: number, bytes: Chunk | readonly Chunk[]): Chunk[] => {
  const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
  const len = parts.reduce((s, p) => s + p.length, 0);
  return [tag(field, 2), varint(len), ...parts];
};
const text = (field: number, s: string): Chunk[] => bytesField(field, Buffer.from(s, 'utf8'));
const floatField = (field: number, v: number): Chunk[] => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [tag(field, 5), b];
};

function tensor(t: TensorInit): Chunk[] {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) throw new Error(`onnx: initializer ${t.name} has ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  return [
    ...t.dims.flatMap((d) => intField(1, d)),
    ...intField(2, t.type),
    ...text(8, t.name),
    ...bytesField(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
  ];
}

function attribute(a: Attribute): Chunk[] {
  // AttributeProto.type: FLOAT 1, INT 2, INTS 7.
  if ('int' in a) return [...text(1, a.name), ...intField(3, a.int), ...intField(20, 2)];
  if ('float' in a) return [...text(1, a.name), ...floatField(2, a.float), ...intField(20, 1)];
  return [...text(1, a.name), ...a.ints.flatMap((v) => intField(8, v)), ...intField(20, 7)];
}

function node(n: NodeSpec): Chunk[] {
  return [
    ...n.inputs.flatMap((s) => text(1, s)),
    ...n.outputs.flatMap((s) => text(2, s)),
    ...text(3, n.name),
    ...text(4, n.op),
    ...(n.attrs ?? []).flatMap((a) => bytesField(5, attribute(a))),
  ];
}

function valueInfo(v: ValueInfo): Chunk[] {
  const dims = v.dims.flatMap((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : text(2, d)));
  const tensorType = [...intField(1, v.type), ...bytesField(2, dims)];
  return [...text(1, v.name), ...bytesField(2, bytesField(1, tensorType))];
}

function graph(g: GraphSpec): Chunk[] {
  return [
    ...g.nodes.flatMap((n) => bytesField(1, node(n))),
    ...text(2, g.name),
    ...g.initializers.flatMap((t) => bytesField(5, tensor(t))),
    ...g.inputs.flatMap((v) => bytesField(11, valueInfo(v))),
    ...g.outputs.flatMap((v) => bytesField(12, valueInfo(v))),
  ];
}

/** The serialised ModelProto, as a list of chunks to write in order. */
export function encodeModel(m: ModelSpec): Chunk[] {
  return [
    ...intField(1, m.irVersion),
    ...text(2, m.producerName),
    ...text(3, m.producerVersion),
    ...text(6, m.docString),
    ...bytesField(7, graph(m.graph)),
    ...bytesField(8, [...text(1, ''), ...intField(2, m.opset)]),
    ...Object.entries(m.metadata).flatMap(([k, v]) => bytesField(14, [...text(1, k), ...text(2, v)])),
  ];
}
