/*===- runtime_errors.c - every runtime failure has a code and a message --===*\
|*                                                                            *|
|* Written in C against include/flashc-c/runtime.h. Without a driver it       *|
|* checks the no-driver path; with a GPU it checks a null, misaligned and     *|
|* foreign pointer, a wrong shape, a malformed bundle and PTX the driver      *|
|* rejects. Usage: runtime_errors [BUNDLE]  (BUNDLE: a f16 head_dim-64 kernel *|
|* with dynamic shapes, e.g. from test/GPU/make-bundles.sh).                  *|
\*===----------------------------------------------------------------------===*/

#include "flashc-c/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char *what, const flashc_runtime *rt) {
  printf("%s %s", ok ? "ok  " : "FAIL", what);
  if (rt)
    printf(" -> \"%.120s\"", flashc_runtime_last_error(rt));
  printf("\n");
  if (!ok)
    ++failures;
}

static char *readFile(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
    free(text);
    text = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return text;
}

int main(int argc, char **argv) {
  flashc_runtime *rt = NULL;
  flashc_status status = flashc_runtime_create(0, &rt);
  expect(flashc_runtime_create(0, NULL) == FLASHC_ERROR_ARGUMENT,
         "create with a null out-pointer", NULL);
  if (status == FLASHC_ERROR_NO_DRIVER || status == FLASHC_ERROR_NO_DEVICE) {
    expect(strlen(flashc_runtime_last_error(rt)) > 0,
           "no driver: the message says why", rt);
    flashc_kernel *kernel = NULL;
    expect(flashc_kernel_load(rt, "x", 1, &kernel) == FLASHC_ERROR_NO_DRIVER &&
               kernel == NULL,
           "no driver: loading a kernel fails cleanly", rt);
    flashc_varlen varlen = {0};
    expect(flashc_kernel_launch_varlen(NULL, &varlen, NULL, 0, 0, 0, 0, 0, NULL,
                                       0, NULL) == FLASHC_ERROR_ARGUMENT &&
               !flashc_kernel_is_varlen(NULL),
           "varlen: a null kernel", NULL);
    flashc_paged paged = {0};
    expect(flashc_kernel_launch_paged(NULL, &paged, NULL, 0, 0, 0, 0, 0, NULL,
                                      0, NULL) == FLASHC_ERROR_ARGUMENT &&
               !flashc_kernel_is_paged(NULL),
           "paged: a null kernel", NULL);
    flashc_runtime_destroy(rt);
    printf("%d failed (no GPU: driver-independent checks only)\n", failures);
    return failures ? 1 : 0;
  }
  expect(status == FLASHC_OK, "create on device 0", rt);
  if (status != FLASHC_OK)
    return 1;

  flashc_runtime *missing = NULL;
  expect(flashc_runtime_create(999, &missing) == FLASHC_ERROR_NO_DEVICE,
         "create on device 999", missing);
  flashc_runtime_destroy(missing);

  flashc_kernel *kernel = NULL;
  const char *garbage = "flashc-bundle 2\nkernel k\nnonsense 3\n";
  expect(flashc_kernel_load(rt, garbage, strlen(garbage), &kernel) ==
             FLASHC_ERROR_BUNDLE,
         "a malformed bundle", rt);

  if (argc < 2) {
    printf("%d failed (no bundle given: launch checks skipped)\n", failures);
    flashc_runtime_destroy(rt);
    return failures ? 1 : 0;
  }
  size_t size = 0;
  char *text = readFile(argv[1], &size);
  if (!text) {
    printf("cannot read %s\n", argv[1]);
    return 1;
  }

  /* Corrupt the PTX body: the driver's JIT must reject it with a log. */
  char *broken = malloc(size + 1);
  memcpy(broken, text, size);
  char *entry = strstr(broken, ".entry");
  if (entry)
    memcpy(entry, ".xntry", 6);
  expect(flashc_kernel_load(rt, broken, size, &kernel) == FLASHC_ERROR_JIT,
         "PTX the driver rejects", rt);
  free(broken);

  expect(flashc_kernel_load(rt, text, size, &kernel) == FLASHC_OK,
         "load the bundle", rt);
  flashc_shape shape = {1, 2, 64, 64};
  unsigned long long base = 0;
  /* Device memory through a tiny launch-free path: the runner owns
   * allocation helpers, so use pointers we can reason about instead. */
  uint64_t host[64];
  uint64_t hostPtr = (uint64_t)(uintptr_t)host;
  expect(flashc_kernel_launch(kernel, &shape, 0, 0, 0, 0, NULL) ==
             FLASHC_ERROR_ARGUMENT,
         "null pointers", rt);
  flashc_varlen varlen = {2, shape.heads, 0, 100, 100, 60, 60, 256, 512};
  expect(flashc_kernel_launch_varlen(kernel, &varlen, NULL, 0, 0, 0, 0, 0, NULL,
                                     0, NULL) == FLASHC_ERROR_ARGUMENT &&
             strstr(flashc_runtime_last_error(rt), "without varlen") &&
             !flashc_kernel_is_varlen(kernel),
         "varlen launch of a kernel compiled without varlen", rt);
  flashc_paged paged = {1, shape.heads, 0, 1, 4, 64, 4, 256, 512};
  expect(flashc_kernel_launch_paged(kernel, &paged, NULL, 0, 0, 0, 0, 0, NULL,
                                    0, NULL) == FLASHC_ERROR_ARGUMENT &&
             strstr(flashc_runtime_last_error(rt), "without paged") &&
             !flashc_kernel_is_paged(kernel),
         "paged launch of a kernel compiled without paged", rt);
  expect(flashc_kernel_launch(kernel, &shape, hostPtr + 8, hostPtr, hostPtr,
                              hostPtr, NULL) == FLASHC_ERROR_ARGUMENT,
         "a misaligned pointer", rt);
  expect(flashc_kernel_launch(kernel, &shape, (hostPtr + 15) & ~15ull,
                              (hostPtr + 15) & ~15ull, (hostPtr + 15) & ~15ull,
                              (hostPtr + 15) & ~15ull,
                              NULL) == FLASHC_ERROR_ARGUMENT,
         "a host (foreign) pointer", rt);
  flashc_shape zero = {1, 2, 0, 64};
  expect(flashc_kernel_launch(kernel, &zero, 16, 16, 16, 16, NULL) ==
             FLASHC_ERROR_ARGUMENT,
         "seq_q = 0", rt);
  flashc_shape huge = {1, 70000, 64, 64};
  expect(flashc_kernel_launch(kernel, &huge, 16, 16, 16, 16, NULL) ==
             FLASHC_ERROR_ARGUMENT,
         "heads over the grid limit", rt);
  flashc_shape ungrouped = {1, 2, 64, 64, 3};
  expect(flashc_kernel_launch(kernel, &ungrouped, 16, 16, 16, 16, NULL) ==
             FLASHC_ERROR_ARGUMENT,
         "kv_heads that does not divide heads", rt);
  flashc_strides strides = {{0}};
  expect(flashc_kernel_launch_strided(kernel, &shape, &strides, 16, 16, 16, 16,
                                      0, NULL, 0, NULL,
                                      NULL) == FLASHC_ERROR_ARGUMENT,
         "strides for a row-major kernel", rt);
  expect(flashc_kernel_launch(kernel, NULL, 16, 16, 16, 16, NULL) ==
             FLASHC_ERROR_ARGUMENT,
         "a null shape", rt);
  flashc_shape batches = {70000, 2, 64, 64};
  expect(flashc_kernel_launch(kernel, &batches, 16, 16, 16, 16, NULL) ==
             FLASHC_ERROR_ARGUMENT,
         "batch over the grid limit", rt);
  /* The suite's bundle (bf16_d128_causal: dynamic, one strip a warp) may
   * split its K/V loops, up to 16 programs per query block. */
  int64_t splits = 0;
  expect(flashc_kernel_set_kv_splits(kernel, -1) == FLASHC_ERROR_ARGUMENT,
         "kv_splits = -1", rt);
  expect(flashc_kernel_set_kv_splits(kernel, 17) == FLASHC_ERROR_ARGUMENT,
         "kv_splits past the compiled 16", rt);
  expect(flashc_kernel_set_kv_splits(kernel, 5) == FLASHC_OK &&
             flashc_kernel_kv_splits(kernel, &shape, &splits) == FLASHC_OK &&
             splits == 5,
         "kv_splits fixed at 5", rt);
  flashc_shape wide = {20000, 2, 64, 64};
  expect(flashc_kernel_kv_splits(kernel, &wide, &splits) == FLASHC_OK &&
             splits == 3,
         "fixed kv_splits kept within the grid (65535 / 20000 = 3)", rt);
  flashc_shape decode = {1, 2, 1, 65536};
  expect(flashc_kernel_set_kv_splits(kernel, 0) == FLASHC_OK &&
             flashc_kernel_kv_splits(kernel, &decode, &splits) == FLASHC_OK &&
             splits > 1,
         "a 2-program decode grid is split by the runtime's choice", rt);
  flashc_shape prefill = {4, 32, 4096, 4096};
  expect(flashc_kernel_kv_splits(kernel, &prefill, &splits) == FLASHC_OK &&
             splits == 1,
         "a full prefill grid is not split", rt);
  expect(flashc_kernel_kv_splits(kernel, &zero, &splits) ==
             FLASHC_ERROR_ARGUMENT,
         "kv_splits of a bad shape", rt);
  (void)base;
  flashc_kernel_destroy(kernel);
  flashc_runtime_destroy(rt);
  free(text);
  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
