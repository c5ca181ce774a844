/**
 * The float element types of SD components' boundary tensors, and the conversions to and from them.
 *
 * @module
 */
import type { TensorData } from "./backend.ts";

/** The element types an SD component's float tensors may have. */
export const FLOATS = ["float32", "float16"] as const;

/** Converts float32 data to a tensor's element type (float16 or float32). */
export function castFloat(data: Float32Array, type: string): Float32Array | Float16Array {
  return type === "float16" ? Float16Array.from(data) : data;
}

/** Reads float16 or float32 tensor data as float32. */
export function toFloat32(data: TensorData): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float16Array) return Float32Array.from(data);
  throw new Error(`Cannot read a float tensor from ${data.constructor.name}`);
}
