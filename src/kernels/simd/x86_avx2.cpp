// Kernel table for AVX2 + FMA + F16C (16 vector registers: 4 x 2 tiles).
#if defined(__x86_64__)
#define FLASHSLIM_TARGET "avx2,fma,f16c"
#define FLASHSLIM_VNNI 0
#define FLASHSLIM_ISA_NS avx2
#define FLASHSLIM_TILE_ROWS 4
#define FLASHSLIM_TILE_TOKENS 2
#include "kernels/simd/isa_tables.h"
#include "kernels/simd/x86_kernels.h"

namespace flashslim::simd {

const KernelTable& avx2_kernel_table() {
  static const KernelTable table = avx2::make_table("avx2", KernelIsa::Avx2);
  return table;
}

}  // namespace flashslim::simd
#endif
