/**
 * The onnx-proto bindings and the few helpers every graph module needs.
 *
 * onnx-proto is protobufjs generated from ONNX v1.10.2: fields added to the ONNX schema after
 * that release are dropped on decode, and int64 fields decode as `Long` objects.
 *
 * @module
 */
import onnx from "onnx-proto";

/** The generated `onnx` protobuf namespace. */
export const proto = onnx.onnx;

export type ModelProto = onnx.onnx.IModelProto;
export type GraphProto = onnx.onnx.IGraphProto;
export type NodeProto = onnx.onnx.INodeProto;
export type TensorProto = onnx.onnx.ITensorProto;
export type ValueInfoProto = onnx.onnx.IValueInfoProto;
export type AttributeProto = onnx.onnx.IAttributeProto;

/** ONNX element types used by the rewriter. */
export const DataType = {
  FLOAT: 1,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

/** Names of ONNX element types for messages. */
export const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
  16: "bfloat16",
};

/** An int64 as protobufjs decodes it: a JS number or a `Long`. */
export type Int64 = number | { toNumber(): number };

/** Converts a protobufjs int64 (number or `Long`) to a JS number. */
export function toNumber(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}

/** Decodes a serialized ONNX model. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    return proto.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(
      `Cannot read the ONNX model as it is not a valid ModelProto: current size is ${bytes.length} bytes`,
      { cause: error },
    );
  }
}

/** Serializes an ONNX model. */
export function encodeModel(model: ModelProto): Uint8Array {
  return proto.ModelProto.encode(model).finish();
}

/** Returns the opset version of a domain ("" for the default ONNX domain), or undefined. */
export function opsetVersion(model: ModelProto, domain = ""): number | undefined {
  for (const entry of model.opsetImport ?? []) {
    const d = entry.domain ?? "";
    if (d === domain || (domain === "" && d === "ai.onnx")) return toNumber(entry.version);
  }
  return undefined;
}

/** Attribute builders: ONNX attributes carry an explicit type tag. */
export const attr = {
  int(name: string, i: number): AttributeProto {
    return { name, type: proto.AttributeProto.AttributeType.INT, i };
  },
  ints(name: string, ints: number[]): AttributeProto {
    return { name, type: proto.AttributeProto.AttributeType.INTS, ints };
  },
  float(name: string, f: number): AttributeProto {
    return { name, type: proto.AttributeProto.AttributeType.FLOAT, f };
  },
  tensor(name: string, t: TensorProto): AttributeProto {
    return { name, type: proto.AttributeProto.AttributeType.TENSOR, t };
  },
  graph(name: string, g: GraphProto): AttributeProto {
    return { name, type: proto.AttributeProto.AttributeType.GRAPH, g };
  },
};

/** Finds an attribute of a node by name. */
export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** Reads an INT attribute, or returns the fallback when absent. */
export function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a ? toNumber(a.i) : fallback;
}

/** Reads a FLOAT attribute, or returns the fallback when absent. */
export function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a ? (a.f ?? fallback) : fallback;
}

/** Builds a float32 tensor (raw little-endian data). */
export function floatTensor(name: string, values: ArrayLike<number>, dims: number[]): TensorProto {
  const data = Float32Array.from(values);
  return { name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(data.buffer) };
}

/** Builds an int64 tensor (raw little-endian data). */
export function int64Tensor(name: string, values: ArrayLike<number>, dims: number[]): TensorProto {
  const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return { name, dataType: DataType.INT64, dims, rawData: new Uint8Array(data.buffer) };
}

/** Reads the numbers of a float, float16, double, int32 or int64 tensor; undefined for other types. */
export function tensorValues(tensor: TensorProto): number[] | undefined {
  const raw = tensor.rawData;
  const type = tensor.dataType ?? 0;
  if (raw && raw.length > 0) {
    const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    switch (type) {
      case DataType.FLOAT:
        return Array.from(new Float32Array(buffer));
      case DataType.DOUBLE:
        return Array.from(new Float64Array(buffer));
      case DataType.FLOAT16:
        return Array.from(new Float16Array(buffer));
      case DataType.INT64:
        return Array.from(new BigInt64Array(buffer), (v) => Number(v));
      case 6:
        return Array.from(new Int32Array(buffer));
      default:
        return undefined;
    }
  }
  switch (type) {
    case DataType.FLOAT:
      return [...(tensor.floatData ?? [])];
    case DataType.DOUBLE:
      return [...(tensor.doubleData ?? [])];
    case DataType.FLOAT16: {
      const bits = Uint16Array.from(tensor.int32Data ?? []);
      return Array.from(new Float16Array(bits.buffer));
    }
    case DataType.INT64:
      return (tensor.int64Data ?? []).map(toNumber);
    case 6:
      return [...(tensor.int32Data ?? [])];
    default:
      return undefined;
  }
}

/** Reads the dims of a tensor as numbers. */
export function tensorDims(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map(toNumber);
}
