/**
 * Static shapes where the graph fixes them: a small forward inference over the ops torch exports
 * around attention, including the int64 shape arithmetic of dynamic-axis exports
 * (`Shape → Gather → Unsqueeze → Concat → Reshape`). Unknown dims stay undefined; nothing here
 * throws on ops it does not know.
 *
 * @module
 */
import { constantValues, type GraphIndex, shapeOf } from "./_graph_index.ts";
import { getAttribute, intAttribute, type NodeProto, toNumber } from "./_onnx.ts";

/** Dims of a tensor; undefined entries are not known statically. */
export type StaticShape = (number | undefined)[];

/** Int64 values of a small tensor; undefined entries are not known statically. */
type StaticValues = (number | undefined)[];

const SAME_SHAPE = new Set([
  "Abs",
  "Cast",
  "Clip",
  "Dropout",
  "Elu",
  "Erf",
  "Exp",
  "FastGelu",
  "Gelu",
  "Identity",
  "InstanceNormalization",
  "GroupNormalization",
  "LayerNormalization",
  "LeakyRelu",
  "Log",
  "Neg",
  "Reciprocal",
  "Relu",
  "Sigmoid",
  "SimplifiedLayerNormalization",
  "Sin",
  "Cos",
  "Softmax",
  "Sqrt",
  "Tanh",
]); // deno-fmt-ignore

const BROADCAST = new Set([
  "Add", "And", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max", "Min", "Mul",
  "Or", "Pow", "Sub", "Where",
]); // deno-fmt-ignore

function broadcast(shapes: (StaticShape | undefined)[]): StaticShape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: StaticShape = [];
  for (let i = 0; i < rank; i++) {
    // Missing leading dims broadcast as 1; an unknown dim stays unknown.
    const dims = shapes.map((s) => (i < rank - s!.length ? 1 : s![s!.length - rank + i]));
    const big = dims.filter((d) => d !== 1);
    out.push(big.length === 0 ? 1 : big.every((d) => d !== undefined && d === big[0]) ? big[0] : undefined);
  }
  return out;
}

function axesOf(index: GraphIndex, node: NodeProto): number[] | undefined {
  const fromInput = node.input?.[1] ? constantValues(index, node.input[1]) : undefined;
  if (fromInput) return fromInput;
  const a = getAttribute(node, "axes");
  return a ? (a.ints ?? []).map(toNumber) : undefined;
}

/** Static shapes and small int64 values of a graph's tensors. */
export interface ShapeInference {
  /** Declared or inferred dims of a tensor, or undefined when even the rank is unknown. */
  shape(name: string): StaticShape | undefined;
  /** Values of a small int64 tensor (shapes, axes), or undefined. */
  values(name: string): StaticValues | undefined;
}

/** Infers shapes over one graph in a single pass in node order (graphs are topologically sorted). */
export function inferShapes(index: GraphIndex): ShapeInference {
  const shapes = new Map<string, StaticShape | undefined>();
  const valueMap = new Map<string, StaticValues | undefined>();
  const shape = (name: string): StaticShape | undefined => {
    const declared = shapeOf(index, name);
    const inferred = shapes.get(name);
    if (!declared || !inferred || declared.length !== inferred.length) return declared ?? inferred;
    return declared.map((d, i) => d ?? inferred[i]);
  };
  const values = (name: string): StaticValues | undefined => {
    const init = index.initializers.get(name);
    const constant = index.producer.get(name)?.attribute?.find((a) => a.name === "value")?.t;
    const dims = (init ?? constant)?.dims?.map(toNumber);
    // Shape arithmetic is a few int64s; decoding weights here would only cost time.
    if (dims && dims.reduce((p, d) => p * d, 1) > MAX_VALUES) return undefined;
    return constantValues(index, name) ?? valueMap.get(name);
  };
  for (const node of index.nodes) {
    const output = node.output?.[0];
    if (!output) continue;
    shapes.set(output, inferShape(index, node, shape, values));
    valueMap.set(output, inferValues(node, shape, values));
  }
  return { shape, values };
}

/** Tensors larger than this are not read as values. */
const MAX_VALUES = 64;

type Lookup<T> = (name: string) => T | undefined;

function inferShape(
  index: GraphIndex,
  node: NodeProto,
  shape: Lookup<StaticShape>,
  values: Lookup<StaticValues>,
): StaticShape | undefined {
  const op = node.opType ?? "";
  const inputs = node.input ?? [];
  if ((node.domain ?? "") !== "" && op !== "MultiHeadAttention") return undefined;
  const inShape = (i: number) => (inputs[i] ? shape(inputs[i]) : undefined);
  if (SAME_SHAPE.has(op)) return inShape(0);
  if (BROADCAST.has(op)) return broadcast(inputs.map((_, i) => inShape(i)));
  switch (op) {
    case "Constant": {
      const t = (node.attribute ?? []).find((a) => a.name === "value")?.t;
      return t ? (t.dims ?? []).map(toNumber) : undefined;
    }
    case "MultiHeadAttention":
      return inShape(0);
    case "MatMul": {
      const [a, b] = [inShape(0), inShape(1)];
      if (!a || !b || a.length < 2 || b.length < 2) return undefined;
      const batch = broadcast([a.slice(0, -2), b.slice(0, -2)]);
      return batch ? [...batch, a.at(-2), b.at(-1)] : undefined;
    }
    case "Transpose": {
      const s = inShape(0);
      const perm = getAttribute(node, "perm")?.ints?.map(toNumber) ?? s?.map((_, i) => s.length - 1 - i);
      // The perm alone fixes the rank.
      return perm?.map((p) => s?.[p]);
    }
    case "Reshape": {
      const target = values(inputs[1] ?? "");
      if (!target) return undefined;
      const s = inShape(0);
      const allowZero = intAttribute(node, "allowzero", 0) === 1;
      const out = target.map((d, i) => (d === 0 && !allowZero ? s?.[i] : d));
      const minus = out.indexOf(-1);
      if (minus >= 0) {
        const product = (dims: StaticShape) =>
          dims.reduce<number | undefined>(
            (p, d) => (p === undefined || d === undefined ? undefined : p * d),
            1,
          );
        const total = s ? product(s) : undefined;
        const rest = product(out.filter((_, i) => i !== minus));
        out[minus] = total !== undefined && rest ? total / rest : undefined;
      }
      return out;
    }
    case "Unsqueeze": {
      const s = inShape(0);
      const axes = axesOf(index, node);
      if (!s || !axes) return undefined;
      const rank = s.length + axes.length;
      const at = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
      const out: StaticShape = [];
      for (let i = 0, j = 0; i < rank; i++) out.push(at.has(i) ? 1 : s[j++]);
      return out;
    }
    case "Squeeze": {
      const s = inShape(0);
      const axes = axesOf(index, node);
      if (!s) return undefined;
      if (!axes) return s.includes(undefined) ? undefined : s.filter((d) => d !== 1);
      const at = new Set(axes.map((a) => (a < 0 ? a + s.length : a)));
      return s.filter((_, i) => !at.has(i));
    }
    case "Concat": {
      const all = inputs.map((_, i) => inShape(i));
      if (all.some((s) => !s)) return undefined;
      const rank = all[0]!.length;
      let axis = intAttribute(node, "axis", 0);
      if (axis < 0) axis += rank;
      return all[0]!.map((_, i) =>
        i === axis
          ? all.reduce<number | undefined>(
            (sum, s) => (sum === undefined || s![i] === undefined ? undefined : sum + s![i]!),
            0,
          )
          : all.find((s) => s![i] !== undefined)?.[i]
      );
    }
    case "Shape": {
      const v = inferValues(node, shape, values);
      return v ? [v.length] : undefined;
    }
    case "Gather": {
      const [data, idx] = [inShape(0), inShape(1)];
      if (!data || !idx) return undefined;
      let axis = intAttribute(node, "axis", 0);
      if (axis < 0) axis += data.length;
      return [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)];
    }
    case "Slice": {
      // The rank survives; dims on sliced axes are not worked out.
      const s = inShape(0);
      const axes = inputs[3] ? values(inputs[3]) : s?.map((_, i) => i);
      if (!s || !axes) return s?.map(() => undefined);
      const sliced = new Set(axes.map((a) => (a === undefined ? -1 : a < 0 ? a + s.length : a)));
      return sliced.has(-1) ? s.map(() => undefined) : s.map((d, i) => (sliced.has(i) ? undefined : d));
    }
    default:
      return undefined;
  }
}

function inferValues(
  node: NodeProto,
  shape: Lookup<StaticShape>,
  values: Lookup<StaticValues>,
): StaticValues | undefined {
  const inputs = node.input ?? [];
  const arg = (i: number) => (inputs[i] ? values(inputs[i]) : undefined);
  switch (node.opType) {
    case "Shape": {
      const s = shape(inputs[0] ?? "");
      if (!s) return undefined;
      const rank = s.length;
      let start = intAttribute(node, "start", 0);
      let end = getAttribute(node, "end") ? intAttribute(node, "end", rank) : rank;
      if (start < 0) start += rank;
      if (end < 0) end += rank;
      return s.slice(start, end);
    }
    case "Cast":
    case "Identity":
    case "Squeeze":
    case "Unsqueeze":
      return arg(0);
    case "Gather": {
      const data = arg(0);
      const idx = arg(1);
      if (!idx || intAttribute(node, "axis", 0) !== 0) return undefined;
      // An unknown dim read off a shape still has a known place in the Concat it feeds.
      return idx.map((i) => (i === undefined || !data ? undefined : data[i < 0 ? i + data.length : i]));
    }
    case "Concat": {
      const parts = inputs.map((_, i) => arg(i));
      return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
    }
    case "Add":
    case "Sub":
    case "Mul":
    case "Div": {
      const [a, b] = [arg(0), arg(1)];
      if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1)) return undefined;
      return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => {
        const x = a[a.length === 1 ? 0 : i];
        const y = b[b.length === 1 ? 0 : i];
        if (x === undefined || y === undefined) return undefined;
        if (node.opType === "Add") return x + y;
        if (node.opType === "Sub") return x - y;
        if (node.opType === "Mul") return x * y;
        return y === 0 ? undefined : Math.trunc(x / y);
      });
    }
    default:
      return undefined;
  }
}
