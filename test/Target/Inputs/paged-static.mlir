// A paged cache of static size: 9 pages of 16 rows, 2 sequences of at most
// 4 pages each (the bundle records the tables' sizes for the launch).
func.func @paged_static(%q: memref<2x4x1x64xf16, strided<[?, ?, ?, 1]>>,
                        %k: memref<9x2x16x64xf16, strided<[?, ?, ?, 1]>>,
                        %v: memref<9x2x16x64xf16, strided<[?, ?, ?, 1]>>,
                        %o: memref<2x4x1x64xf16, strided<[?, ?, ?, 1]>>,
                        %table: memref<2x4xi32>, %lens: memref<2xi32>) {
  flash.attention %q, %k, %v -> %o paged(%table, %lens : memref<2x4xi32>, memref<2xi32>)
      : memref<2x4x1x64xf16, strided<[?, ?, ?, 1]>>, memref<9x2x16x64xf16, strided<[?, ?, ?, 1]>>,
        memref<9x2x16x64xf16, strided<[?, ?, ?, 1]>> -> memref<2x4x1x64xf16, strided<[?, ?, ?, 1]>>
  return
}
