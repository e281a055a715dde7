// Kernel table for NEON with the dot-product extension (sdot, armv8.2-a).
#if defined(__aarch64__)
#define FLASHSLIM_DOTPROD 1
#define FLASHSLIM_ISA_NS neon_dotprod
#include "kernels/simd/arm_kernels.h"

namespace flashslim::simd {

const KernelTable& neon_dotprod_kernel_table() {
  static const KernelTable table = neon_dotprod::make_table("neon-dotprod", KernelIsa::NeonDotprod);
  return table;
}

}  // namespace flashslim::simd
#endif
