/*===- compile_api.c - the compiler's C API, used from C ------------------===*\
|*                                                                            *|
|* Compiles from MLIR text and from a parameter struct, checks the bundle,   *|
|* the PTX and the diagnostics of bad input, and frees everything.           *|
\*===----------------------------------------------------------------------===*/

#include "flashc-c/compiler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;

/* strcmp that treats NULL as a mismatch. */
static int same(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

static void expect(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    ++failures;
}

/* Whether a compile returned 0 with `needle` in its bundle; destroys the
 * result (read after the compile call, an argument, has set it). */
static int compiledHas(int status, flashc_compile_result **result,
                       const char *needle) {
  size_t size = 0;
  const char *bundle = flashc_compile_result_bundle(*result, &size);
  int ok = status == 0 && bundle && strstr(bundle, needle);
  flashc_compile_result_destroy(*result);
  *result = NULL;
  return ok;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char header[16];
  snprintf(header, sizeof(header), "%d.%d", FLASHC_COMPILER_VERSION_MAJOR,
           FLASHC_COMPILER_VERSION_MINOR);
  expect(strcmp(flashc_compiler_version(), header) == 0,
         "version: the library's is the header's");

  flashc_attention_params params;
  flashc_attention_params_init(&params);
  params.head_dim = 128;
  params.dtype = FLASHC_BF16;
  params.causal = 1;
  params.arch = "sm_90";
  flashc_compile_result *result = NULL;
  expect(flashc_compile_attention(&params, &result) == 0, "compile params");
  printf("%s", flashc_compile_result_diagnostics(result));
  size_t size = 0;
  const char *bundle = flashc_compile_result_bundle(result, &size);
  expect(bundle && size > 1000 && strncmp(bundle, "flashc-bundle 2\n", 16) == 0,
         "bundle header");
  expect(bundle && strstr(bundle, "\nelement bf16\n") &&
             strstr(bundle, "\ncausal 1\n") &&
             strstr(bundle, "\nhead_dim 128\n"),
         "bundle metadata");
  const char *ptx = flashc_compile_result_ptx(result);
  expect(ptx && strstr(ptx, ".target sm_90") &&
             strstr(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.bf16"),
         "PTX for sm_90 with mma.sync");
  expect(same(flashc_compile_result_kernel_name(result), "attention_kernel"),
         "kernel name");
  expect(same(flashc_compile_result_diagnostics(result), ""), "no diagnostics");
  flashc_compile_result_destroy(result);

  /* Static sizes and an explicit tile configuration. */
  flashc_attention_params_init(&params);
  params.batch = 2;
  params.heads = 4;
  params.seq_q = 100;
  params.scale = 0.1f;
  params.block_m = 32;
  params.block_n = 32;
  params.stages = 3;
  params.warps = 2;
  expect(flashc_compile_attention(&params, &result) == 0,
         "compile static sizes and a tile config");
  bundle = flashc_compile_result_bundle(result, &size);
  expect(bundle && strstr(bundle, "\nshape 2 4 100 -1\n") &&
             strstr(bundle, "\nstages 3\n") && strstr(bundle, "\nscale 0.1") &&
             strstr(bundle, "\nstrategy mma_sync\n"),
         "static shape, config (mma_sync by default) and scale in the bundle");
  flashc_compile_result_destroy(result);
  params.strategy = "wmma";
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nstrategy wmma\n"),
         "an explicit config with strategy wmma");
  flashc_attention_params_init(&params);
  params.strategy = "wmma";
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nstrategy wmma\n"),
         "params: strategy without tiles picks the heuristic's");
  params.strategy = "tensor";
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "strategy must be \"mma_sync\", \"wmma\" or \"wgmma\", "
                    "got \"tensor\""),
         "params: an unknown strategy");
  flashc_compile_result_destroy(result);
  /* wgmma is Hopper's (sm_90a); sm_90 refuses it, naming the arch. */
  params.strategy = "wgmma";
  params.arch = "sm_90";
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "strategy wgmma needs --arch sm_90a"),
         "params: wgmma on sm_90");
  flashc_compile_result_destroy(result);
  params.arch = "sm_90a";
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nstrategy wgmma\n"),
         "params: wgmma on sm_90a");
  params.arch = NULL;
  flashc_compile_result_destroy(result);

  /* Arguments that would be coerced are refused, naming them. */
  flashc_attention_params_init(&params);
  params.scale = NAN;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "params: scale must be 0 (the default, 1/sqrt(head_dim)) "
                    "or a positive finite number"),
         "params: scale NaN");
  flashc_compile_result_destroy(result);
  params.scale = -0.5f;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "params: scale must be"),
         "params: a negative scale");
  flashc_compile_result_destroy(result);
  flashc_attention_params_init(&params);
  params.kv_splits = 2;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "params: kv_splits needs a tile config"),
         "params: kv_splits without tiles");
  flashc_compile_result_destroy(result);
  params.kv_splits = -1;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "params: kv_splits must be >= 0"),
         "params: a negative kv_splits");
  flashc_compile_result_destroy(result);
  /* kv_splits with a tile config: in the bundle. */
  params.kv_splits = 2;
  params.batch = 1;
  params.heads = 2;
  params.seq_q = params.seq_k = 512;
  params.block_m = params.block_n = 64;
  params.stages = 2;
  params.warps = 4;
  params.arch = "sm_90";
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nkv_splits 2\n"),
         "params: kv_splits with a tile config");

  /* 0.4: the bottom-right alignment and the LSE output. */
  flashc_attention_params_init(&params);
  params.bottom_right = 1;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "params: bottom_right aligns the causal mask"),
         "params: bottom_right without causal");
  flashc_compile_result_destroy(result);
  params.causal = 1;
  params.lse = 1;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nbottom_right 1\nlse 1\n"),
         "params: bottom_right and lse in the bundle");

  /* MLIR text. */
  const char *text =
      "func.func @mine(%q: memref<1x2x64x64xf16>) {\n"
      "  flash.attention %q, %q, %q -> %q : memref<1x2x64x64xf16>, "
      "memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>\n"
      "  return\n}\n";
  expect(flashc_compile_mlir(text, strlen(text), NULL, &result) == 0,
         "compile MLIR text");
  expect(same(flashc_compile_result_kernel_name(result), "mine_kernel"),
         "kernel named after the function");
  expect(flashc_compile_result_ptx(result) &&
             strstr(flashc_compile_result_ptx(result), ".target sm_89"),
         "default arch sm_89");
  flashc_compile_result_destroy(result);

  /* Varlen and paged kernels from MLIR text: their bundles say so, for
   * flashc_kernel_launch_varlen and flashc_kernel_launch_paged. */
  const char *varlen =
      "func.func @packed(%q: memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>,"
      " %cu: memref<?xi32>) {\n"
      "  flash.attention %q, %q, %q -> %q varlen(%cu, %cu : memref<?xi32>, "
      "memref<?xi32>) causal : memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>,"
      " memref<1x8x?x64xf16, strided<[?, 64, 512, 1]>>, memref<1x8x?x64xf16, "
      "strided<[?, 64, 512, 1]>> -> memref<1x8x?x64xf16, strided<[?, 64, 512, "
      "1]>>\n  return\n}\n";
  expect(
      flashc_compile_mlir(varlen, strlen(varlen), "sm_90", &result) == 0 &&
          strstr(flashc_compile_result_bundle(result, &size), "\nvarlen 1\n") &&
          strstr(flashc_compile_result_bundle(result, &size),
                 "memref1:cu_seqlens_q memref1:cu_seqlens_k"),
      "varlen from MLIR text");
  flashc_compile_result_destroy(result);
  const char *paged =
      "func.func @decode(%q: memref<?x8x1x64xf16, strided<[?, ?, ?, 1]>>, "
      "%o: memref<?x8x1x64xf16, strided<[?, ?, ?, 1]>>, %kc: "
      "memref<?x2x16x64xf16, "
      "strided<[?, ?, ?, 1]>>, %t: memref<?x?xi32>, %l: memref<?xi32>) {\n"
      "  flash.attention %q, %kc, %kc -> %o paged(%t, %l : memref<?x?xi32>, "
      "memref<?xi32>) : memref<?x8x1x64xf16, strided<[?, ?, ?, 1]>>, "
      "memref<?x2x16x64xf16, strided<[?, ?, ?, 1]>>, memref<?x2x16x64xf16, "
      "strided<[?, ?, ?, 1]>> -> memref<?x8x1x64xf16, strided<[?, ?, ?, 1]>>\n"
      "  return\n}\n";
  expect(
      flashc_compile_mlir(paged, strlen(paged), "sm_90", &result) == 0 &&
          strstr(flashc_compile_result_bundle(result, &size), "\npaged 1\n") &&
          strstr(flashc_compile_result_bundle(result, &size),
                 "memref2:block_table memref1:seqlens_k"),
      "paged from MLIR text");
  flashc_compile_result_destroy(result);

  /* The same forms from the struct (0.7): varlen and paged fields. */
  flashc_attention_params_init(&params);
  params.arch = "sm_90";
  params.heads = 8;
  params.kv_heads = 2;
  params.causal = 1;
  params.varlen = 1;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "memref4:o memref1:cu_seqlens_q memref1:cu_seqlens_k"),
         "params: varlen");
  params.lse = 1;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "memref3:lse memref1:cu_seqlens_q"),
         "params: varlen with the LSE before cu_seqlens");
  flashc_attention_params_init(&params);
  params.arch = "sm_90";
  params.seq_q = 1;
  params.paged = 1;
  params.page_size = 16;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\npaged 1\n"),
         "params: paged, 16-row pages");
  params.page_size = 0;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "memref2:block_table memref1:seqlens_k"),
         "params: paged, the page size given at launch");
  params.page_size = 24;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result), "24"),
         "params: paged, 24-row pages refused");
  printf("%s", flashc_compile_result_diagnostics(result));
  flashc_compile_result_destroy(result);
  struct {
    int varlen, paged;
    int64_t batch, seq_k, page_size;
    const char *message;
  } refused[] = {
      {1, 1, 0, 0, 0, "varlen and paged together"},
      {1, 0, 2, 0, 0, "varlen: batch must be 0 or 1"},
      {1, 0, 0, 100, 0, "seq_q, seq_k 0"},
      {0, 1, 0, 100, 0, "paged: seq_k must be 0"},
      {0, 0, 0, 0, 16, "page_size needs paged"},
      {0, 1, 0, 0, -16, "sizes must be >= 0"},
  };
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); ++i) {
    flashc_attention_params_init(&params);
    params.varlen = refused[i].varlen;
    params.paged = refused[i].paged;
    params.batch = refused[i].batch;
    params.seq_k = refused[i].seq_k;
    params.page_size = refused[i].page_size;
    char what[96];
    snprintf(what, sizeof(what), "params: refused, \"%s\"", refused[i].message);
    expect(flashc_compile_attention(&params, &result) != 0 &&
               strstr(flashc_compile_result_diagnostics(result),
                      refused[i].message),
           what);
    flashc_compile_result_destroy(result);
  }

  /* Bad inputs: diagnostics as text with locations, non-zero status. */
  const char *bad =
      "func.func @f(%q: memref<1x2x64x72xf16>) {\n"
      "  flash.attention %q, %q, %q -> %q : memref<1x2x64x72xf16>, "
      "memref<1x2x64x72xf16>, memref<1x2x64x72xf16> -> "
      "memref<1x2x64x72xf16>\n  return\n}\n";
  expect(flashc_compile_mlir(bad, strlen(bad), NULL, &result) != 0,
         "head_dim 72 fails");
  const char *diag = flashc_compile_result_diagnostics(result);
  expect(strstr(diag, "<input>:2:3: error:") &&
             strstr(diag, "head_dim 72 is not supported"),
         "the diagnostic has its location and rule");
  expect(flashc_compile_result_bundle(result, &size) == NULL && size == 0,
         "no bundle on failure");
  flashc_compile_result_destroy(result);

  expect(flashc_compile_mlir("}{", 2, NULL, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result), "<input>:1:1"),
         "garbage text");
  flashc_compile_result_destroy(result);

  expect(flashc_compile_mlir(text, strlen(text), "sm_75", &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "unsupported --arch 'sm_75'"),
         "unsupported arch");
  flashc_compile_result_destroy(result);

  flashc_attention_params_init(&params);
  params.head_dim = 72;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "head_dim 72 is not supported"),
         "params: head_dim 72");
  flashc_compile_result_destroy(result);

  /* Grouped-query attention: K/V heads dividing Q's. */
  flashc_attention_params_init(&params);
  params.heads = 32;
  params.kv_heads = 8;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nshape -1 32 -1 -1\nkv_heads 8\n"),
         "params: kv_heads 8 of 32");
  params.kv_heads = 8;
  params.strided = 1;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nstrided 1\n"),
         "params: strided");
  params.strided = 0;
  params.kv_heads = 5;
  expect(flashc_compile_attention(&params, &result) != 0 &&
             strstr(flashc_compile_result_diagnostics(result),
                    "Q heads 32 is not a multiple of K's 5"),
         "params: kv_heads 5 of 32");
  flashc_compile_result_destroy(result);

  flashc_attention_params_init(&params);
  params.block_m = 64;
  expect(
      flashc_compile_attention(&params, &result) != 0 &&
          strstr(flashc_compile_result_diagnostics(result), "given together"),
      "params: a partial tile config");
  flashc_compile_result_destroy(result);

  /* The tune cache: an entry for (sm_90, f16, head_dim 64, not causal,
   * dynamic seq) wins over the heuristic's 128x64; "" ignores it; the
   * default ($FLASHC_TUNE_CACHE here) is read by both entry points. */
  char cache[] = "/tmp/flashc-compile-api-XXXXXX";
  int fd = mkstemp(cache);
  FILE *file = fd >= 0 ? fdopen(fd, "w") : NULL;
  expect(file != NULL, "temporary tune cache");
  if (file) {
    fputs("sm_90 f16 64 0 0 64 32 2 4 mma_sync 1.0\n"
          "sm_89 f16 64 0 64 64 32 3 4 mma_sync 1.0\n",
          file);
    fclose(file);
  }
  flashc_attention_params_init(&params);
  params.arch = "sm_90";
  params.tune_cache = cache;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nblock_m 64\nblock_n 32\nstages 2\n"),
         "params: the tune cache entry wins");
  params.tune_cache = "";
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nblock_m 128\nblock_n 64\n"),
         "params: tune_cache \"\" ignores it");
  expect(compiledHas(flashc_compile_mlir_tuned(text, strlen(text), NULL, cache,
                                               &result),
                     &result, "\nblock_n 32\nstages 3\n"),
         "MLIR text: the entry for its static seq bucket wins");
  setenv("FLASHC_TUNE_CACHE", cache, 1);
  expect(compiledHas(flashc_compile_mlir(text, strlen(text), NULL, &result),
                     &result, "\nstages 3\n"),
         "MLIR text: the default cache is $FLASHC_TUNE_CACHE");
  params.tune_cache = NULL;
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nblock_n 32\n"),
         "params: NULL is the default cache");
  setenv("FLASHC_TUNE_CACHE", "/nonexistent/flashc-tune.txt", 1);
  expect(compiledHas(flashc_compile_attention(&params, &result), &result,
                     "\nblock_m 128\nblock_n 64\n"),
         "a missing cache file is no cache");
  unsetenv("FLASHC_TUNE_CACHE");
  remove(cache);

  expect(flashc_compile_attention(NULL, &result) != 0, "params: null");
  flashc_compile_result_destroy(result);
  expect(flashc_compile_mlir(NULL, 0, NULL, &result) != 0, "text: null");
  flashc_compile_result_destroy(result);
  flashc_compile_result_destroy(NULL);

  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
