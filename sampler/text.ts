/**
 * Prompt tokenisation with @huggingface/tokenizers, padded or truncated to the model's fixed length, and
 * the text encoder run on a batch of prompts.
 *
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";
import type { Session, TensorValue } from "./backend.ts";

/** Token ids of one prompt, and the words the vocabulary does not know. */
export interface Tokens {
  ids: number[];
  /** Words mapped to the unknown token, reported to the client. */
  unknown: string[];
  /** Whether the prompt was cut to fit the fixed length. */
  truncated: boolean;
}

/** Options of {@linkcode createTextTokenizer}. */
export interface TokenizerOptions {
  length: number;
  padToken: string;
  unkToken?: string;
  /** Tokens to put before and after the prompt (CLIP's start/end tokens). */
  bos?: string;
  eos?: string;
}

/** A fixed-length tokenizer. */
export interface TextTokenizer {
  readonly length: number;
  encode(prompt: string): Tokens;
}

/**
 * Wraps a `tokenizer.json` document.
 *
 * @example
 * ```ts
 * const tok = createTextTokenizer(JSON.parse(text), { length: 12, padToken: "[PAD]", unkToken: "[UNK]" });
 * tok.encode("a thick seven").ids; // [22, 29, 19, 0, …]
 * ```
 */
export function createTextTokenizer(json: object, options: TokenizerOptions): TextTokenizer {
  const { length, padToken, unkToken, bos, eos } = options;
  const tokenizer = new Tokenizer(json, { pad_token: padToken, unk_token: unkToken });
  const id = (token: string | undefined, what: string) => {
    if (token === undefined) return undefined;
    const found = tokenizer.token_to_id(token);
    if (found === undefined) {
      throw new Error(`Cannot use tokenizer as its ${what} token '${token}' is not in the vocabulary`);
    }
    return found;
  };
  const pad = id(padToken, "padding")!;
  const unk = id(unkToken, "unknown");
  const bosId = id(bos, "start");
  const eosId = id(eos, "end");
  return {
    length,
    encode(prompt) {
      const enc = tokenizer.encode(prompt, { add_special_tokens: false });
      const unknown = enc.tokens.filter((_, i) => unk !== undefined && enc.ids[i] === unk);
      const room = length - (bosId === undefined ? 0 : 1) - (eosId === undefined ? 0 : 1);
      const body = enc.ids.slice(0, room);
      const ids = [...(bosId === undefined ? [] : [bosId]), ...body, ...(eosId === undefined ? [] : [eosId])];
      while (ids.length < length) ids.push(pad);
      return { ids, unknown, truncated: enc.ids.length > room };
    },
  };
}

/** What the text encoder gives for a batch of prompts. */
export interface TextStates {
  /** States [n, length, dim]. */
  states: TensorValue;
  /** Words the vocabulary did not know, over all prompts. */
  unknown: string[];
  /** Whether any prompt was cut to fit the fixed length. */
  truncated: boolean;
}

/**
 * Tokenises prompts and runs the text encoder on them as one batch.
 *
 * @param session the text encoder, with the manifest's input and output names and the input's id type
 */
export function textEncoding(
  tokenizer: TextTokenizer,
  session: Session,
  { input, inputType, output }: { input: string; inputType: "int64" | "int32"; output: string },
): (prompts: string[]) => Promise<TextStates> {
  return async (prompts) => {
    const tokens = prompts.map((p) => tokenizer.encode(p));
    const ids = tokens.flatMap((t) => t.ids);
    const data = inputType === "int64" ? BigInt64Array.from(ids, BigInt) : Int32Array.from(ids);
    const out = await session.run({ [input]: { data, dims: [prompts.length, tokenizer.length] } });
    return {
      states: out[output],
      unknown: [...new Set(tokens.flatMap((t) => t.unknown))],
      truncated: tokens.some((t) => t.truncated),
    };
  };
}
