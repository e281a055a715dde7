// Kernel table for NEON (Advanced SIMD, part of every aarch64 CPU).
#if defined(__aarch64__)
#define FLASHSLIM_DOTPROD 0
#define FLASHSLIM_ISA_NS neon
#include "kernels/simd/arm_kernels.h"

namespace flashslim::simd {

const KernelTable& neon_kernel_table() {
  static const KernelTable table = neon::make_table("neon", KernelIsa::Neon);
  return table;
}

}  // namespace flashslim::simd
#endif
