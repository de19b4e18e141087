/* Embedding flashc: compile a causal bf16 attention with the C API, then
 * hand the bundle to the runtime. Without a GPU it stops after compiling
 * and says why (exit 0: compiling is what this example checks). */
#include "flashc-c/compiler.h"
#include "flashc-c/runtime.h"

#include <stdio.h>

int main(void) {
  flashc_attention_params params;
  flashc_attention_params_init(&params);
  params.head_dim = 128;
  params.dtype = FLASHC_BF16;
  params.causal = 1;

  flashc_compile_result *result = NULL;
  if (flashc_compile_attention(&params, &result) != 0) {
    fprintf(stderr, "compile failed:\n%s",
            flashc_compile_result_diagnostics(result));
    flashc_compile_result_destroy(result);
    return 1;
  }
  size_t size = 0;
  const char *bundle = flashc_compile_result_bundle(result, &size);
  printf("compiled %s: %zu-byte bundle\n",
         flashc_compile_result_kernel_name(result), size);

  flashc_runtime *runtime = NULL;
  if (flashc_runtime_create(0, &runtime) != FLASHC_OK) {
    printf("not launching: %s\n", flashc_runtime_last_error(runtime));
  } else {
    flashc_kernel *kernel = NULL;
    if (flashc_kernel_load(runtime, bundle, size, &kernel) != FLASHC_OK)
      printf("load failed: %s\n", flashc_runtime_last_error(runtime));
    else
      printf("loaded on %s\n", flashc_runtime_device_name(runtime));
    /* flashc_kernel_launch(kernel, &shape, q, k, v, o, stream) with device
     * pointers from cuMemAlloc or a framework's tensors. */
    flashc_kernel_destroy(kernel);
  }
  flashc_runtime_destroy(runtime);
  flashc_compile_result_destroy(result);
  return 0;
}
