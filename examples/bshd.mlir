// Attention on tensors stored [batch, seq, heads, head_dim], as most model
// code holds them, read in place: Q, K, V and O are strided views
// [batch, heads, seq, head_dim] of that storage, their strides given at
// launch (flashc_kernel_launch_strided; the Python module passes torch's).
// The unit stride on head_dim is required.
//   flashc examples/bshd.mlir --run --batch 2 --heads 8 --seq 1000
func.func @bshd(%q: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
                %k: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
                %v: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
                %o: memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>) {
  flash.attention %q, %k, %v -> %o causal
      : memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
        memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>,
        memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>
        -> memref<?x?x?x64xf16, strided<[?, ?, ?, 1]>>
  return
}
