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

}  // namespace flashslim::simd
