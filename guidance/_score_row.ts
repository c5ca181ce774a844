/**
 * Fills `scores` with one query's attention scores S_j = scale·⟨q_i, k_j⟩ for head `h`, over
 * q [heads, queries, headDim] and k [heads, keys, headDim] (reference math, float64 accumulation).
 */
export function scoreRow(
  scores: Float64Array,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  { h, i, queries, keys, headDim, scale }: {
    h: number;
    i: number;
    queries: number;
    keys: number;
    headDim: number;
    scale: number;
  },
): void {
  const qo = (h * queries + i) * headDim;
  for (let j = 0; j < keys; j++) {
    const ko = (h * keys + j) * headDim;
    let s = 0;
    for (let c = 0; c < headDim; c++) s += q[qo + c] * k[ko + c];
    scores[j] = s * scale;
  }
}
