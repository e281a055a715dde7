// Kernel table for AVX-512 F/BW/VL/VNNI on 256-bit vectors (32 registers: 4 x 4 tiles).
#if defined(__x86_64__)
#define FLASHSLIM_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define FLASHSLIM_VNNI 2
#define FLASHSLIM_ISA_NS avx512
#define FLASHSLIM_TILE_ROWS 4
#define FLASHSLIM_TILE_TOKENS 4
#include "kernels/simd/isa_tables.h"
#include "kernels/simd/x86_kernels.h"

namespace flashslim::simd {

const KernelTable& avx512_kernel_table() {
  static const KernelTable table = avx512::make_table("avx512", KernelIsa::Avx512);
  return table;
}

}  // namespace flashslim::simd
#endif
