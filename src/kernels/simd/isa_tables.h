#pragma once
// The kernel tables of each instruction set (private to src/kernels; the rest
// of the engine goes through kernels() in kernels/kernel_table.h).
#include "kernels/kernel_table.h"

namespace flashslim::simd {

const KernelTable& scalar_kernel_table();
#if defined(__x86_64__)
// REQUIRES the CPU features named in each file (checked by dispatch.cpp).
const KernelTable& avx2_kernel_table();
const KernelTable& avx2_vnni_kernel_table();
const KernelTable& avx512_kernel_table();
#endif
#if defined(__aarch64__)
const KernelTable& neon_kernel_table();
// REQUIRES the dot-product extension (HWCAP_ASIMDDP).
const KernelTable& neon_dotprod_kernel_table();
#endif

}  // namespace flashslim::simd
