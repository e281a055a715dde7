// Kernel table for AVX2 + FMA + F16C + AVX-VNNI.
#if defined(__x86_64__)
#define FLASHSLIM_TARGET "avx2,fma,f16c,avxvnni"
#define FLASHSLIM_VNNI 1
#define FLASHSLIM_ISA_NS avx2_vnni
#define FLASHSLIM_TILE_ROWS 4
#define FLASHSLIM_TILE_TOKENS 2
#include "kernels/simd/isa_tables.h"
#include "kernels/simd/x86_kernels.h"

namespace flashslim::simd {

const KernelTable& avx2_vnni_kernel_table() {
  static const KernelTable table = avx2_vnni::make_table("avx2+vnni", KernelIsa::Avx2Vnni);
  return table;
}

}  // namespace flashslim::simd
#endif
