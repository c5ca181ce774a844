/**
 * Indexes over one ONNX graph, built once per rewrite, and the path matcher built on them
 * (after onnxruntime's `OnnxModel.match_parent_path`).
 *
 * @module
 */
import {
  DataType,
  type GraphProto,
  intAttribute,
  type NodeProto,
  tensorDims,
  type TensorProto,
  tensorValues,
  toNumber,
  type ValueInfoProto,
} from "./_onnx.ts";

/** Lookups over a graph: who produces a tensor, who consumes it, and what is known about it. */
export interface GraphIndex {
  readonly graph: GraphProto;
  readonly nodes: readonly NodeProto[];
  /** Tensor name → the node that outputs it. */
  readonly producer: ReadonlyMap<string, NodeProto>;
  /** Tensor name → the nodes that read it, in graph order. */
  readonly consumers: ReadonlyMap<string, readonly NodeProto[]>;
  readonly initializers: ReadonlyMap<string, TensorProto>;
  /** Graph inputs, inputs that are also initializers excluded (old IR models list both). */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Declared types of graph inputs, outputs and value_info entries. */
  readonly valueInfo: ReadonlyMap<string, ValueInfoProto>;
  /** Position of each node in the graph's node list. */
  readonly position: ReadonlyMap<NodeProto, number>;
}

/** Builds the indexes of a graph. */
export function buildGraphIndex(graph: GraphProto): GraphIndex {
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  const position = new Map<NodeProto, number>();
  nodes.forEach((node, i) => {
    position.set(node, i);
    for (const output of node.output ?? []) if (output) producer.set(output, node);
    for (const input of new Set(node.input ?? [])) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  });
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const valueInfo = new Map<string, ValueInfoProto>();
  for (const v of [...(graph.valueInfo ?? []), ...(graph.output ?? []), ...(graph.input ?? [])]) {
    if (v.name) valueInfo.set(v.name, v);
  }
  return {
    graph,
    nodes,
    producer,
    consumers,
    initializers,
    inputs: (graph.input ?? []).map((v) => v.name ?? "").filter((n) => n && !initializers.has(n)),
    outputs: (graph.output ?? []).map((v) => v.name ?? ""),
    valueInfo,
    position,
  };
}

/** One step of a parent path: the accepted op types, and which input of the child to follow. */
export interface PathStep {
  readonly op: string | readonly string[];
  /** Input index on the child node; undefined tries every input in order. */
  readonly input?: number;
}

/**
 * Walks back from `node` along `path` and returns the matched parents (nearest first), or undefined.
 *
 * @example
 * ```ts
 * // Softmax ← Mul ← MatMul, following Softmax's input 0 and any input of the Mul
 * matchParentPath(index, softmax, [{ op: ["Mul", "Div"], input: 0 }, { op: "MatMul" }]);
 * ```
 */
export function matchParentPath(
  index: GraphIndex,
  node: NodeProto,
  path: readonly PathStep[],
): NodeProto[] | undefined {
  if (path.length === 0) return [];
  const [step, ...rest] = path;
  const ops = typeof step.op === "string" ? [step.op] : step.op;
  const inputs = node.input ?? [];
  const candidates = step.input === undefined ? inputs.map((_, i) => i) : [step.input];
  for (const i of candidates) {
    const parent = index.producer.get(inputs[i] ?? "");
    if (!parent || !ops.includes(parent.opType ?? "")) continue;
    const tail = matchParentPath(index, parent, rest);
    if (tail) return [parent, ...tail];
  }
  return undefined;
}

/** Returns the value of a constant tensor (an initializer or a Constant node's output), or undefined. */
export function constantValues(index: GraphIndex, name: string): number[] | undefined {
  const init = index.initializers.get(name);
  if (init) return tensorValues(init);
  const node = index.producer.get(name);
  if (node?.opType !== "Constant") return undefined;
  for (const a of node.attribute ?? []) {
    if (a.name === "value" && a.t) return tensorValues(a.t);
    if (a.name === "value_float") return [a.f ?? 0];
    if (a.name === "value_floats") return [...(a.floats ?? [])];
    if (a.name === "value_int") return [toNumber(a.i)];
    if (a.name === "value_ints") return (a.ints ?? []).map(toNumber);
  }
  return undefined;
}

/** True when a tensor is an initializer or a Constant node's output. */
export function isConstant(index: GraphIndex, name: string): boolean {
  return index.initializers.has(name) || index.producer.get(name)?.opType === "Constant";
}

/** Ops whose output element type is that of their first input. */
const TYPE_PRESERVING = new Set([
  "Abs",
  "Add",
  "Clip",
  "Concat",
  "Div",
  "Dropout",
  "Erf",
  "Expand",
  "Flatten",
  "Gather",
  "Gelu",
  "Identity",
  "LayerNormalization",
  "MatMul",
  "Max",
  "Min",
  "Mul",
  "MultiHeadAttention",
  "Neg",
  "Pad",
  "Pow",
  "ReduceMax",
  "ReduceMean",
  "ReduceSum",
  "Relu",
  "Reshape",
  "Sigmoid",
  "Slice",
  "Softmax",
  "Split",
  "Sqrt",
  "Squeeze",
  "Sub",
  "Tanh",
  "Tile",
  "Transpose",
  "Unsqueeze",
  "GroupNormalization",
  "InstanceNormalization",
  "Conv",
  "ConvTranspose",
  "Gemm",
  "Where",
  "Exp",
  "Log",
  "Reciprocal",
  "Einsum",
  "SkipLayerNormalization",
  "BiasGelu",
  "FastGelu",
  "Attention",
  "AveragePool",
  "MaxPool",
  "GlobalAveragePool",
  "GlobalMaxPool",
  "Resize",
  "LeakyRelu",
  "Softplus",
]); // deno-fmt-ignore

/** Type-preserving ops whose operands all have the output's type, so any typed operand tells it. */
const SAME_TYPE_OPERANDS = new Set(["Add", "Sub", "Mul", "Div", "Max", "Min", "MatMul", "Gemm", "Concat", "Einsum"]);

/** Infers the element type of a tensor from declarations, initializers and producers. */
export function elemTypeOf(index: GraphIndex, name: string, seen = new Set<string>()): number | undefined {
  const declared = index.valueInfo.get(name)?.type?.tensorType?.elemType;
  if (declared) return declared;
  const init = index.initializers.get(name);
  if (init) return init.dataType ?? undefined;
  if (seen.has(name)) return undefined;
  seen.add(name);
  const node = index.producer.get(name);
  if (!node) return undefined;
  const op = node.opType ?? "";
  if (op === "Cast") return intAttribute(node, "to", 0) || undefined;
  if (op === "Constant") {
    const t = (node.attribute ?? []).find((a) => a.name === "value")?.t;
    return t?.dataType ?? DataType.FLOAT;
  }
  if (op === "Where") return elemTypeOf(index, node.input?.[1] ?? "", seen);
  if (!TYPE_PRESERVING.has(op)) return undefined;
  // Only inputs that share the output's type: the data input, or every input of an op whose operands all
  // have one type. A Reshape's shape, a Gather's indices or a Slice's starts are int64 whatever the data is.
  const inputs = SAME_TYPE_OPERANDS.has(op) ? node.input ?? [] : (node.input ?? []).slice(0, 1);
  for (const input of inputs) {
    if (!input) continue;
    const t = elemTypeOf(index, input, seen);
    if (t) return t;
  }
  return undefined;
}

/** The static shape of a tensor where declared or an initializer: undefined dims are symbolic. */
export function shapeOf(index: GraphIndex, name: string): (number | undefined)[] | undefined {
  const init = index.initializers.get(name);
  if (init) return tensorDims(init);
  const shape = index.valueInfo.get(name)?.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((
    d,
  ) => (d.dimValue !== null && d.dimValue !== undefined && !d.dimParam
    ? toNumber(d.dimValue) || undefined
    : undefined)
  );
}
