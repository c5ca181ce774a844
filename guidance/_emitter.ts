/**
 * Queues new nodes and constants for a graph rewrite, with names made unique against the graph.
 *
 * @module
 */
import {
  attr,
  type AttributeProto,
  floatTensor,
  int64Tensor,
  type NodeProto,
  type TensorProto,
} from "./_onnx.ts";

/** Options of one emitted node. */
export interface OpOptions {
  attributes?: AttributeProto[];
  domain?: string;
  /** Exact output names; default: one output named after the node. */
  outputs?: string[];
  /** Name of the node under the emitter's current scope; default: the op type. */
  name?: string;
}

/** Collects nodes and initializers for a rewrite. */
export interface Emitter {
  readonly nodes: NodeProto[];
  readonly initializers: TensorProto[];
  /** The default-domain opset the nodes must conform to. */
  readonly opset: number;
  /** Emits one node and returns its first output. */
  op(opType: string, inputs: readonly string[], options?: OpOptions): string;
  /** A float32 constant of the given values and dims (default: shape [1]), shared between uses. */
  float(values: number | readonly number[], dims?: readonly number[]): string;
  /** An int64 constant (default: a 1-D tensor), shared between uses. */
  int64(values: readonly number[], dims?: readonly number[]): string;
  /** Reduces over `axes` keeping dims, with axes as input or attribute as the opset wants. */
  reduce(
    opType: "ReduceSum" | "ReduceMax" | "ReduceSumSquare",
    input: string,
    axes: readonly number[],
  ): string;
  /** Runs `body` with node names prefixed by `scope/`. */
  scoped<T>(scope: string, body: () => T): T;
  /** Reserves a unique name derived from `base`. */
  unique(base: string): string;
}

/**
 * Creates an emitter that avoids every name in `taken` (and adds the names it makes to it).
 *
 * @param taken node, tensor and initializer names already in the graph
 * @param opset the default-domain opset of the model
 * @param constantScope prefix for the shared constants' names
 */
export function createEmitter(taken: Set<string>, opset: number, constantScope = "GAG"): Emitter {
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const constants = new Map<string, string>();
  const scopes: string[] = [];

  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };

  const op = (opType: string, inputs: readonly string[], options: OpOptions = {}): string => {
    const name = unique([...scopes, options.name ?? opType].join("/"));
    const outputs = options.outputs ?? [unique(`${name}_output_0`)];
    for (const output of options.outputs ?? []) taken.add(output);
    nodes.push({
      name,
      opType,
      domain: options.domain ?? "",
      input: [...inputs],
      output: outputs,
      attribute: options.attributes ?? [],
    });
    return outputs[0];
  };

  const constant = (kind: string, values: readonly number[], dims: readonly number[]): string => {
    const key = `${kind}:${dims.join("x")}:${values.join(",")}`;
    const known = constants.get(key);
    if (known) return known;
    const label = values.length === 1 ? String(values[0]).replace(/[^0-9a-zA-Z.-]/g, "_") : "values";
    const name = unique(`${constantScope}/constants/${kind}_${label}`);
    initializers.push(
      kind === "f32" ? floatTensor(name, values, [...dims]) : int64Tensor(name, values, [...dims]),
    );
    constants.set(key, name);
    return name;
  };

  return {
    nodes,
    initializers,
    opset,
    op,
    unique,
    float: (values, dims) => {
      const list = typeof values === "number" ? [values] : values;
      return constant("f32", list, dims ?? [list.length]);
    },
    int64: (values, dims) => constant("i64", values, dims ?? [values.length]),
    reduce: (opType, input, axes) => {
      // ReduceSum took axes as an input from opset 13, the other reductions from opset 18.
      const axesAsInput = opType === "ReduceSum" ? opset >= 13 : opset >= 18;
      const keep = attr.int("keepdims", 1);
      return axesAsInput
        ? op(opType, [input, constant("i64", axes, [axes.length])], { attributes: [keep] })
        : op(opType, [input], { attributes: [attr.ints("axes", [...axes]), keep] });
    },
    scoped: (scope, body) => {
      scopes.push(scope);
      try {
        return body();
      } finally {
        scopes.pop();
      }
    },
  };
}
