/*===- flashc-c/compiler.h - compile attention to a kernel bundle -*- C -*-===*\
|*                                                                            *|
|* The flashc compiler for embedding: an attention description, as MLIR text *|
|* or as a parameter struct, compiled to a kernel bundle (PTX + launch       *|
|* metadata, docs/Bundle.md) in memory, ready for flashc-c/runtime.h.        *|
|* Nothing is printed from inside the library: diagnostics come back as      *|
|* text. Every object is freed through this API.                             *|
\*===----------------------------------------------------------------------===*/

#ifndef FLASHC_C_COMPILER_H
#define FLASHC_C_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLASHC_COMPILER_VERSION_MAJOR 0
#define FLASHC_COMPILER_VERSION_MINOR 7

#if defined(FLASHC_COMPILER_BUILDING_SHARED)
#define FLASHC_COMPILER_API __attribute__((visibility("default")))
#else
#define FLASHC_COMPILER_API
#endif

typedef enum flashc_dtype { FLASHC_F16 = 0, FLASHC_BF16 = 1 } flashc_dtype;

/* One attention. Sizes of 0 are dynamic (given at launch); tile fields of 0
 * are chosen by flashc. Initialise with flashc_attention_params_init. */
typedef struct flashc_attention_params {
  int64_t head_dim; /* a multiple of 16 from 32 to 256 */
  flashc_dtype dtype;
  int causal;       /* non-zero: query row i attends to keys j <= i */
  float scale;      /* 0: 1/sqrt(head_dim) */
  const char *arch; /* "sm_80", "sm_86", "sm_89" (NULL), "sm_90" */
  int64_t batch, heads, seq_q, seq_k;      /* 0: dynamic */
  int64_t block_m, block_n, stages, warps; /* 0: flashc chooses */
  /* The tune cache (written by `flashc tune`, docs/Tuning.md) that flashc
   * consults when it chooses the tiles: NULL for flashc's default
   * ($FLASHC_TUNE_CACHE, else ~/.cache/flashc/tune.txt), "" for none. A
   * file that does not exist is no cache. */
  const char *tune_cache;
  /* The tensor-core strategy, "mma_sync", "wmma" or "wgmma" (arch "sm_90a"
   * only): of the given tile config (NULL: mma_sync), or without one the
   * heuristic's (flashc --mma; NULL: its own choice, wgmma on sm_90a where
   * it applies, else mma_sync). */
  const char *strategy;
  /* Programs that share one query block's K/V loop (0 or 1: one; at most
   * 16, strategy mma_sync or wgmma, with a tile config only). Added in
   * 0.3. */
  int64_t kv_splits;
  /* Non-zero, with causal: the bottom-right alignment, key j seen by query
   * i if j <= i + seq_k - seq_q (FlashAttention's, for decoding). Added in
   * 0.4. */
  int bottom_right;
  /* Non-zero: the kernel also writes each row's log-sum-exp, an f32
   * [batch, heads, seq_q] parameter after O (launch it with
   * flashc_kernel_launch_with). Added in 0.4. */
  int lse;
  /* K and V's heads, a divisor of heads (grouped-query attention: query
   * head h reads K/V head h / (heads / kv_heads)); 0: as heads (static or
   * dynamic; dynamic heads take any divisor at launch). Added in 0.5. */
  int64_t kv_heads;
  /* Non-zero: Q, K, V and O are strided<[?, ?, ?, 1]> memrefs, their
   * strides given at launch (flashc_kernel_launch_strided), e.g. views of
   * [batch, seq, heads, head_dim] storage. Added in 0.5. */
  int strided;
  /* Non-zero: sequences of different lengths packed in one batch
   * (docs/ModelShapes.md): Q, K, V and O are packed [total, heads,
   * head_dim] buffers read as [1, heads, total, head_dim] with strides
   * given at launch, and two i32 parameters follow O (and the LSE),
   * cu_seqlens_q and cu_seqlens_k; batch and seq_q are 0 (dynamic) or 1
   * for batch. Launch it with flashc_kernel_launch_varlen. Added in 0.7. */
  int varlen;
  /* Non-zero: K and V are a paged cache, [pages, page_size, kv_heads,
   * head_dim] buffers read as [pages, kv_heads, page_size, head_dim], and
   * two i32 parameters follow O (and the LSE): the block table [batch,
   * max_pages] and the key lengths [batch]; Q and O take strides at
   * launch; seq_k is 0. Launch it with flashc_kernel_launch_paged. Added
   * in 0.7. */
  int paged;
  /* With paged: rows of a page, a multiple of 16; 0: given at launch.
   * Added in 0.7. */
  int64_t page_size;
} flashc_attention_params;

typedef struct flashc_compile_result flashc_compile_result;

/* Version "MAJOR.MINOR". */
FLASHC_COMPILER_API const char *flashc_compiler_version(void);

/* head_dim 64, f16, not causal, default scale, sm_89, all sizes dynamic,
 * the default tune cache. */
FLASHC_COMPILER_API void
flashc_attention_params_init(flashc_attention_params *params);

/* Compiles `size` bytes of MLIR text (one func.func holding one
 * flash.attention or flash.tiled) for `arch` (NULL: sm_89), consulting the
 * default tune cache (as flashc does). Returns 0 on success; non-zero on
 * failure, with the diagnostics in the result. *out is always set (unless
 * out is NULL) and must be destroyed. */
FLASHC_COMPILER_API int flashc_compile_mlir(const char *text, size_t size,
                                            const char *arch,
                                            flashc_compile_result **out);

/* flashc_compile_mlir with the tune cache named: NULL for the default, ""
 * for none (see flashc_attention_params.tune_cache). */
FLASHC_COMPILER_API int flashc_compile_mlir_tuned(const char *text, size_t size,
                                                  const char *arch,
                                                  const char *tune_cache,
                                                  flashc_compile_result **out);

/* Compiles the attention `params` describes. Same contract. */
FLASHC_COMPILER_API int
flashc_compile_attention(const flashc_attention_params *params,
                         flashc_compile_result **out);

/* The kernel bundle (for flashc_kernel_load) and its size; NULL on failure.
 * Owned by the result. */
FLASHC_COMPILER_API const char *
flashc_compile_result_bundle(const flashc_compile_result *result, size_t *size);
/* The PTX text alone (NUL-terminated); NULL on failure. */
FLASHC_COMPILER_API const char *
flashc_compile_result_ptx(const flashc_compile_result *result);
/* The kernel's name; NULL on failure. */
FLASHC_COMPILER_API const char *
flashc_compile_result_kernel_name(const flashc_compile_result *result);
/* Every diagnostic, one per line as "<input>:line:col: error: ..."; "" when
 * there are none. */
FLASHC_COMPILER_API const char *
flashc_compile_result_diagnostics(const flashc_compile_result *result);
FLASHC_COMPILER_API void
flashc_compile_result_destroy(flashc_compile_result *result);

#ifdef __cplusplus
}
#endif

#endif /* FLASHC_C_COMPILER_H */
