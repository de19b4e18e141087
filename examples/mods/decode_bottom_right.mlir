// Decoding with a KV cache: a few new queries (seq_q 1..16) against a long
// cache, causal with FlashAttention's bottom-right alignment (query i sees
// keys j <= i + seq_k - seq_q: the last query sees the whole cache). The
// log-sum-exp of each row is written too, f32 [batch, heads, seq_q].
func.func @decode_bottom_right(%q: memref<?x?x?x64xf16>, %k: memref<?x?x?x64xf16>,
                               %v: memref<?x?x?x64xf16>, %o: memref<?x?x?x64xf16>,
                               %lse: memref<?x?x?xf32>) {
  flash.attention %q, %k, %v -> %o lse(%lse : memref<?x?x?xf32>) causal bottom_right
      : memref<?x?x?x64xf16>, memref<?x?x?x64xf16>,
        memref<?x?x?x64xf16> -> memref<?x?x?x64xf16>
  return
}
