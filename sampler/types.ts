/**
 * The request and result types shared by the engine and its pipelines.
 *
 * @module
 */
import type { Rgba } from "./preview.ts";

import type { GuidanceMode } from "../guidance/guidance_scalars.ts";
import type { LayerKind } from "../guidance/layer_kinds.ts";

export { GUIDANCE_MODES, type GuidanceMode } from "../guidance/guidance_scalars.ts";
export { LAYER_KINDS, type LayerKind } from "../guidance/layer_kinds.ts";

/** Attention guidance of one request; omitted parameters take the model's defaults. */
export interface GuidanceRequest {
  mode: GuidanceMode;
  /** PLADIS λ, or GAG w. */
  scale?: number;
  eta?: number;
  zeta?: number;
  layers?: LayerKind;
}

/** One generation request, as the engine takes it (validated for types by routes/). */
export interface GenerateRequest {
  model?: string;
  prompt: string;
  negativePrompt?: string;
  steps?: number;
  seed?: number;
  guidance?: GuidanceRequest;
  /** Classifier-free guidance scale; 1 (default) runs one pass. */
  cfg?: number;
  /** Use adaptive projected guidance (APG) instead of plain CFG when `cfg` > 1. */
  apg?: { eta?: number; r?: number; beta?: number };
}

/** A step as the engine reports it; `render()` decodes the step's clean-sample estimate on demand. */
export interface StepEvent {
  /** 1-based. */
  step: number;
  steps: number;
  elapsedMs: number;
  render(): Promise<Rgba>;
}

/** Options of a generation. */
export interface GenerateOptions {
  onStep?: (event: StepEvent) => void | Promise<void>;
  signal?: AbortSignal;
}

/** A finished generation. */
export interface Generation {
  image: Rgba;
  model: string;
  seed: number;
  steps: number;
  mode: GuidanceMode;
  cfg: number;
  elapsedMs: number;
  /** Prompt words the tokenizer did not know. */
  unknownWords: string[];
  /** Whether the prompt was cut to fit the model's token length (its end was not seen by the model). */
  truncated: boolean;
}

/** What `/api/models` says of a model. */
export interface ModelInfo {
  id: string;
  name: string;
  description?: string;
  kind: string;
  default: boolean;
  width: number;
  height: number;
  defaultSteps: number;
  maxSteps: number;
  guidance: {
    modes: readonly GuidanceMode[];
    layers: LayerKind[];
    defaults: { pladis: { scale: number }; gag: { scale: number; eta: number; zeta: number } };
    ranges: {
      pladis: { scale: [number, number] };
      gag: { scale: [number, number]; eta: [number, number]; zeta: [number, number] };
    };
    /** Scales from which the model over-guides (adherence clearly below no guidance), when measured. */
    overGuiding: { gag?: number; pladis?: number };
  };
  cfg: { default: number; range: [number, number] };
}
