/*===- flashc-c/runtime.h - launch compiled attention kernels -----*- C -*-===*\
|*                                                                            *|
|* The flashc runtime: loads a kernel bundle (PTX + launch metadata, written  *|
|* by `flashc --emit=bundle` or the C API) and launches it through the CUDA   *|
|* driver, which it opens with dlopen("libcuda.so.1"): it links and starts   *|
|* on machines without a GPU or a driver, and needs no MLIR.                 *|
|*                                                                            *|
|* Every call returns a flashc_status; on failure                            *|
|* flashc_runtime_last_error() says what went wrong (the CUresult's name,    *|
|* the JIT log, or the parameter and the rule it broke).                     *|
\*===----------------------------------------------------------------------===*/

#ifndef FLASHC_C_RUNTIME_H
#define FLASHC_C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLASHC_RUNTIME_VERSION 6

#if defined(FLASHC_RUNTIME_BUILDING_SHARED)
#define FLASHC_RUNTIME_API __attribute__((visibility("default")))
#else
#define FLASHC_RUNTIME_API
#endif

typedef enum flashc_status {
  FLASHC_OK = 0,
  FLASHC_ERROR_NO_DRIVER = 1, /* libcuda.so.1 missing or unusable */
  FLASHC_ERROR_NO_DEVICE = 2, /* the driver sees no such device */
  FLASHC_ERROR_CUDA = 3,      /* a driver call failed */
  FLASHC_ERROR_BUNDLE = 4,    /* the bundle text is malformed */
  FLASHC_ERROR_JIT = 5,       /* the driver rejected the PTX */
  FLASHC_ERROR_ARGUMENT = 6,  /* a shape, pointer or stream is wrong */
} flashc_status;

typedef struct flashc_runtime flashc_runtime;
typedef struct flashc_kernel flashc_kernel;

/* Shape of one attention call: Q and O are [batch, heads, seq_q, head_dim],
 * K and V [batch, kv_heads, seq_k, head_dim], contiguous row-major.
 * kv_heads divides heads (grouped-query attention: query head h reads K/V
 * head h / (heads / kv_heads)); 0 means heads. (Added in version 3.) */
typedef struct flashc_shape {
  int64_t batch, heads, seq_q, seq_k;
  int64_t kv_heads;
} flashc_shape;

/* Opens the driver and makes `device`'s primary context current. On failure
 * *out is still set (when out is not NULL) so that the message can be read;
 * destroy it in every case. */
FLASHC_RUNTIME_API flashc_status flashc_runtime_create(int device,
                                                       flashc_runtime **out);
FLASHC_RUNTIME_API void flashc_runtime_destroy(flashc_runtime *runtime);
/* The last error's message; "" when none. Valid until the next call. */
FLASHC_RUNTIME_API const char *
flashc_runtime_last_error(const flashc_runtime *runtime);
/* "NVIDIA H100 80GB HBM3 (sm_90)". */
FLASHC_RUNTIME_API const char *
flashc_runtime_device_name(const flashc_runtime *runtime);

/* Loads a bundle (its text, `size` bytes): parses it and JIT-loads the PTX. */
FLASHC_RUNTIME_API flashc_status flashc_kernel_load(flashc_runtime *runtime,
                                                    const char *bundle,
                                                    size_t size,
                                                    flashc_kernel **out);
FLASHC_RUNTIME_API void flashc_kernel_destroy(flashc_kernel *kernel);

/* Launches on `stream` (a CUstream; NULL for the default stream). q, k, v, o
 * are device pointers (CUdeviceptr) of the bundle's element type, 16-byte
 * aligned. Checks the shape against the bundle before launching. A kernel
 * with an LSE output or captures needs flashc_kernel_launch_with. */
FLASHC_RUNTIME_API flashc_status flashc_kernel_launch(flashc_kernel *kernel,
                                                      const flashc_shape *shape,
                                                      uint64_t q, uint64_t k,
                                                      uint64_t v, uint64_t o,
                                                      void *stream);

/* One operand of the score modifiers (a capture), in the order of the
 * source's `captures(...)`: for a memref, its device pointer and sizes
 * (row-major, contiguous; as many sizes as its rank); for a scalar, its
 * value in int_value (i32, i64, index) or float_value (f32, f64). */
typedef struct flashc_capture {
  uint64_t data;
  int64_t sizes[8];
  int64_t int_value;
  double float_value;
} flashc_capture;

/* How many captures the kernel takes, and whether it writes an LSE. */
FLASHC_RUNTIME_API int flashc_kernel_num_captures(const flashc_kernel *kernel);
FLASHC_RUNTIME_API int flashc_kernel_has_lse(const flashc_kernel *kernel);

/* flashc_kernel_launch with the LSE output (`lse`: f32 [batch, heads,
 * seq_q], 0 if the kernel has none) and the captures (`num_captures` must
 * be the kernel's count; a memref capture's sizes must match its static
 * ones). */
FLASHC_RUNTIME_API flashc_status flashc_kernel_launch_with(
    flashc_kernel *kernel, const flashc_shape *shape, uint64_t q, uint64_t k,
    uint64_t v, uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t num_captures, void *stream);

/* The block map of a kernel with a data-dependent mask (a mask_mod that
 * reads data, docs/Modifiers.md): which key blocks each query block sees.
 * flashc_kernel_launch_with builds it before every launch; built once with
 * flashc_block_map_build (same arguments as the launch, on `stream`), it
 * can be given to any number of launches of kernels of the same bundle, of
 * the same seq_q and seq_k (and batch, or batch and heads, where the mask
 * reads them), with the same mask data: layers sharing one document
 * layout, say. flashc cannot check that the captured data is the same.
 * Without a map given, the launches of one kernel share the map it keeps:
 * launch it on one stream, or give each stream its own built map. */
typedef struct flashc_block_map flashc_block_map;
FLASHC_RUNTIME_API flashc_status flashc_block_map_build(
    flashc_kernel *kernel, const flashc_shape *shape, uint64_t q, uint64_t k,
    uint64_t v, uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t num_captures, void *stream, flashc_block_map **out);
FLASHC_RUNTIME_API void flashc_block_map_destroy(flashc_block_map *map);
/* flashc_kernel_launch_with using `map` (NULL: build one, as
 * flashc_kernel_launch_with does); a map built for other tiles or another
 * shape is refused. */
FLASHC_RUNTIME_API flashc_status flashc_kernel_launch_with_map(
    flashc_kernel *kernel, const flashc_shape *shape, uint64_t q, uint64_t k,
    uint64_t v, uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t num_captures, const flashc_block_map *map, void *stream);

/* Element strides of Q, K, V and O, in [batch, heads, seq, head_dim] order,
 * for a kernel compiled with strided layouts (memrefs
 * `strided<[?, ?, ?, 1]>`, docs/Runtime.md): a [batch, seq, heads,
 * head_dim] tensor read as [batch, heads, seq, head_dim] has {seq·heads·D,
 * D, heads·D, 1}. The head_dim stride must be 1, the others positive
 * multiples of 8. Added in version 3. */
typedef struct flashc_strides {
  int64_t q[4], k[4], v[4], o[4];
} flashc_strides;

/* flashc_kernel_launch_with_map with Q, K, V and O's strides (`strides`;
 * NULL: row-major, as every other launch). A kernel compiled for row-major
 * operands refuses strides. Added in version 3. */
FLASHC_RUNTIME_API flashc_status flashc_kernel_launch_strided(
    flashc_kernel *kernel, const flashc_shape *shape,
    const flashc_strides *strides, uint64_t q, uint64_t k, uint64_t v,
    uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t num_captures, const flashc_block_map *map, void *stream);

/* Split K/V loops: a kernel compiled with kv_splits > 1 (docs/Runtime.md)
 * may share each query block's K/V loop among up to that many programs,
 * whose partial results are merged by their log-sum-exps. How many is
 * chosen at every launch from the device's SM count and the shape, so that
 * a small grid (a decode step) fills the GPU and a large one runs unsplit.
 * flashc_kernel_set_kv_splits fixes the count for the kernel's later
 * launches (`splits` from 1 to the compiled kv_splits; fewer where batch ·
 * splits would pass the grid's limit of 65535), 0 goes back to choosing.
 * flashc_kernel_kv_splits gives the count a launch of `shape` would use (1
 * for a kernel compiled without splits). Added in version 4. */
FLASHC_RUNTIME_API flashc_status
flashc_kernel_set_kv_splits(flashc_kernel *kernel, int64_t splits);
FLASHC_RUNTIME_API flashc_status flashc_kernel_kv_splits(
    flashc_kernel *kernel, const flashc_shape *shape, int64_t *splits);

/* Varlen attention: `sequences` sequences of different lengths packed
 * along seq, for a kernel compiled with `varlen` (docs/Runtime.md). Q and O
 * hold total_q rows, K and V total_k, each row [heads (or kv_heads),
 * head_dim] (strides as for flashc_kernel_launch_strided, in [1, heads,
 * total, head_dim] order: a contiguous [total, heads, head_dim] buffer has
 * {total·heads·D, D, heads·D, 1}). Sequence i owns Q rows
 * [cu_seqlens_q[i], cu_seqlens_q[i + 1]) and K/V rows [cu_seqlens_k[i],
 * cu_seqlens_k[i + 1]): cu_seqlens_q/k are device pointers to i32
 * [sequences + 1], non-decreasing from 0 to at most total_q/k; the runtime
 * cannot check their contents (they live on the device). max_seqlen_q is
 * the longest query sequence (grid x covers it: a longer one is cut
 * short), max_seqlen_k the longest key sequence. kv_heads 0 means heads.
 * Added in version 5. */
typedef struct flashc_varlen {
  int64_t sequences, heads, kv_heads;
  int64_t total_q, total_k;
  int64_t max_seqlen_q, max_seqlen_k;
  uint64_t cu_seqlens_q, cu_seqlens_k;
} flashc_varlen;

/* Launches a varlen kernel (grid: ceil(max_seqlen_q / block_m), heads,
 * sequences). `lse` (f32 [heads, total_q]; 0 if the kernel has none),
 * the captures and the strides (NULL: Q, K, V, O row-major as [1, heads,
 * total, head_dim]) as for flashc_kernel_launch_strided. A kernel compiled
 * without varlen refuses this launch, and a varlen kernel every other.
 * Added in version 5. */
FLASHC_RUNTIME_API flashc_status flashc_kernel_launch_varlen(
    flashc_kernel *kernel, const flashc_varlen *varlen,
    const flashc_strides *strides, uint64_t q, uint64_t k, uint64_t v,
    uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t num_captures, void *stream);

/* A paged K/V cache (a kernel compiled with `paged`, docs/Runtime.md): K
 * and V are caches of num_pages pages of page_size rows (a positive
 * multiple of 16), each row [kv_heads, head_dim]; strides in [pages,
 * kv_heads, page_size, head_dim] order (a contiguous [pages, page_size,
 * kv_heads, head_dim] cache has {page_size·kv_heads·D, D, kv_heads·D, 1}).
 * Sequence b's keys are rows of pages block_table[b, 0], block_table[b,
 * 1], ... (device i32 [batch, max_pages]), seqlens_k[b] of them (device
 * i32 [batch]); their contents are not checked. Q and O are [batch, heads,
 * seq_q, head_dim]. kv_heads 0 means heads. Added in version 5. */
typedef struct flashc_paged {
  int64_t batch, heads, kv_heads, seq_q;
  int64_t num_pages, page_size, max_pages;
  uint64_t block_table, seqlens_k;
} flashc_paged;

/* Launches a paged kernel (grid: ceil(seq_q / block_m), heads, batch ·
 * splits; the split count chosen for max_pages · page_size keys). `lse`
 * (f32 [batch, heads, seq_q]), the captures and the strides as for
 * flashc_kernel_launch_strided. A kernel compiled without `paged` refuses
 * this launch, and a paged kernel every other. Added in version 5. */
FLASHC_RUNTIME_API flashc_status flashc_kernel_launch_paged(
    flashc_kernel *kernel, const flashc_paged *paged,
    const flashc_strides *strides, uint64_t q, uint64_t k_cache,
    uint64_t v_cache, uint64_t o, uint64_t lse, const flashc_capture *captures,
    size_t num_captures, void *stream);

/* Whether the kernel was compiled with `paged`. Added in version 5. */
FLASHC_RUNTIME_API int flashc_kernel_is_paged(const flashc_kernel *kernel);

/* Whether the kernel was compiled with `varlen`. Added in version 5. */
FLASHC_RUNTIME_API int flashc_kernel_is_varlen(const flashc_kernel *kernel);

#ifdef __cplusplus
}
#endif

#endif /* FLASHC_C_RUNTIME_H */
