#pragma once
// The compute kernels of one instruction set, as a table, and the run-time
// choice of the table the engine uses. One binary runs on any x86-64 (or
// aarch64): at first use the best table the CPU supports is picked, unless
// FLASHSLIM_FORCE_SCALAR=1 is set or select_kernel_isa() chose another.
//
// Every entry has a scalar twin (src/tensor/reference_kernels.h and the
// scalar table); SIMD entries differ from it only by the order of float
// additions, and activation quantizers are bit-identical to it.
#include <array>
#include <cstdint>
#include <string_view>

#include "tensor/ggml_type.h"

namespace flashslim {

enum class KernelIsa {
  Scalar,
  Avx2,         // AVX2 + FMA + F16C (pmaddubsw integer dots)
  Avx2Vnni,     // as Avx2, with AVX-VNNI vpdpbusd
  Avx512,       // AVX-512 F/BW/VL/VNNI on 256-bit vectors (32 registers, EVEX vpdpbusd)
  Neon,         // aarch64 Advanced SIMD (smull integer dots)
  NeonDotprod,  // as Neon, with armv8.2-a sdot
};
// In order of preference (the last one this CPU and build support is the best).
inline constexpr std::array<KernelIsa, 6> kAllKernelIsas = {
    KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx2Vnni,
    KernelIsa::Avx512, KernelIsa::Neon, KernelIsa::NeonDotprod};

// Matrix tile: y[t * y_stride + r] = dot(weight row r, activation row t) for
// r < n_rows and t < n_tokens. Weight rows are w_stride bytes apart, each of
// `cols` elements; activation rows (already in the type's vec_dot_type) are
// act_stride bytes apart. Kernels reuse each weight load across several
// tokens (register tiles), so prefill reads each weight once per tile.
using GemmFn = void (*)(int64_t cols, int64_t n_rows, int64_t n_tokens, const uint8_t* w,
                        size_t w_stride, const uint8_t* act, size_t act_stride, float* y,
                        int64_t y_stride);

struct TypeKernels {
  VecDotFn vec_dot = nullptr;  // one row · one activation row (as TypeTraits::vec_dot)
  GemmFn gemm = nullptr;       // null for activation-only types
  ToFloatFn to_float = nullptr;
  // Q4_0 only: the float order of llama.cpp's kernels for the Q4_0 matrices it
  // repacks (ref::vec_dot_q4_0_q8_0_repacked; matmul.h says which ones).
  GemmFn gemm_repacked = nullptr;
};

struct KernelTable {
  const char* name = nullptr;  // "scalar", "avx2", "avx2+vnni", "avx512", "neon", "neon-dotprod"
  KernelIsa isa = KernelIsa::Scalar;
  std::array<TypeKernels, 31> types{};  // indexed by GgmlType id; empty rows unknown
  // Activation quantizers (bit-identical to tensor/activation.cpp):
  // Q8_0 with x86 SIMD rounding, Q8_1, Q8_K, F16.
  FromFloatFn quantize_q8_0 = nullptr;
  FromFloatFn quantize_q8_1 = nullptr;
  FromFloatFn quantize_q8_K = nullptr;
  FromFloatFn quantize_f16 = nullptr;
  // Row operations (semantics in kernels/ops.h).
  void (*rms_norm)(const float* x, const float* weight, float* out, int64_t n, float eps) = nullptr;
  void (*softmax)(float* x, int64_t n, float scale) = nullptr;
  void (*swiglu)(float* gate, const float* up, int64_t n) = nullptr;
  void (*add)(float* y, const float* x, int64_t n) = nullptr;

  const TypeKernels& of(GgmlType type) const { return types[static_cast<size_t>(type)]; }
};

// The table the engine uses (chosen once, thread-safe).
const KernelTable& kernels();
// Name of kernels().isa, for run summaries and benchmark records.
const char* kernel_isa_name();

// The table of one ISA, or nullptr if this CPU or this build cannot run it.
// Tests call every available table directly.
const KernelTable* kernel_table(KernelIsa isa);
// The best table this CPU supports, ignoring FLASHSLIM_FORCE_SCALAR.
KernelIsa best_kernel_isa();

// Makes kernels() return the table named `name` ("scalar", "avx2", "avx2+vnni",
// "avx512", or "auto" for the best). Error naming the flag value if unknown or
// unsupported here. Call before any computation starts (not thread-safe
// against running kernels).
void select_kernel_isa(std::string_view name);

// Converts activations for weights whose vec_dot_type is `type` with the
// table's quantizers (F32 is a copy, BF16 uses the reference).
void quantize_activation_row(const KernelTable& k, GgmlType vec_dot_type, const float* x, void* dst,
                             int64_t n);

}  // namespace flashslim
