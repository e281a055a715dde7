#pragma once
// Run-time dispatch for plain loops written to vectorize (fixed-length lane
// loops, selects instead of branches): on x86 a function marked
// FLASHSLIM_LANE_CLONES is compiled three times, for AVX-512, AVX2 and the
// baseline, and the loader picks the best copy the CPU has. Elsewhere it is
// compiled once for the baseline.
//
// AVX-512 and AVX2 targets would let the compiler fuse a * b + c into FMA,
// which rounds once instead of twice and changes results (quantized bytes,
// generated weights), so contraction is turned off in the clones: GCC by the
// optimize attribute, clang by FLASHSLIM_NO_FP_CONTRACT, which such a
// function states first in its body.
//
// Under ThreadSanitizer the copies are off: the loader runs the copy
// selector (an ifunc resolver) before the sanitizer's runtime starts, and
// the instrumented selector crashes the program at load.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FLASHSLIM_NO_LANE_CLONES
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define FLASHSLIM_NO_LANE_CLONES
#endif

#if defined(FLASHSLIM_NO_LANE_CLONES)
#define FLASHSLIM_LANE_CLONES
#if defined(__clang__)
#define FLASHSLIM_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#else
#define FLASHSLIM_NO_FP_CONTRACT
#endif
#elif defined(__x86_64__) && defined(__clang__)
#define FLASHSLIM_LANE_CLONES [[gnu::target_clones("avx512f", "avx2", "default")]]
#define FLASHSLIM_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#elif defined(__x86_64__) && defined(__GNUC__)
#define FLASHSLIM_LANE_CLONES \
  [[gnu::target_clones("avx512f", "avx2", "default"), gnu::optimize("fp-contract=off")]]
#define FLASHSLIM_NO_FP_CONTRACT
#else
#define FLASHSLIM_LANE_CLONES
#define FLASHSLIM_NO_FP_CONTRACT
#endif
