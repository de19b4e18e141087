import flashc

# Varlen: packed [1, heads, total, head_dim] views and the cu_seqlens
# operands; the LSE [1, heads, total_q].
text, _ = flashc.attention_mlir(128, "bf16", True, bottom_right=True,
                                lse=True, varlen=True)
print(text)
k = flashc.compile(mlir=text, arch="sm_90")
print("varlen", k.metadata["varlen"], k.metadata["strided"], k.metadata["lse"],
      k.metadata.get("kv_splits", "1"))

# Paged: a decode step's static query rows against the caches, through the
# block table and the key lengths; the K/V loop may split at launch.
text, _ = flashc.attention_mlir(128, "bf16", seq_q=4, paged=True)
print(text)
k = flashc.compile(mlir=text, arch="sm_90")
print("paged", k.metadata["paged"], k.metadata["strided"],
      k.metadata["kv_splits"], k.metadata["params"])

# Arguments that cannot go together are errors that say why.
for kwargs in (dict(varlen=True, paged=True), dict(varlen=True, seq_q=4),
               dict(paged="yes")):
    try:
        flashc.attention_mlir(64, "f16", **kwargs)
        print("no error", kwargs)
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e)
print("PASS")
