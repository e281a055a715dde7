// Picks the kernel table at run time from the CPU's features (x86: cpuid and
// the OS-enabled register state in XCR0; aarch64: the kernel's HWCAP bits),
// once, unless overridden.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "kernels/kernel_table.h"
#include "kernels/simd/isa_tables.h"
#include "tensor/reference_kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace flashslim {

namespace {

#if defined(__x86_64__)
struct X86Features {
  bool avx2 = false, fma = false, f16c = false, avx_vnni = false;
  bool avx512 = false;  // F, BW, VL, VNNI and the OS saves zmm/opmask state
};

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

X86Features detect_x86() {
  X86Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  if (!osxsave) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;       // xmm + ymm state
  const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;  // + opmask, zmm_hi256, hi16_zmm
  if (!os_avx) return f;
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  const bool avx512vnni = c & (1u << 11);
  f.avx512 = os_avx512 && avx512f && avx512bw && avx512vl && avx512vnni;
  __cpuid_count(7, 1, a, b, c, d);
  f.avx_vnni = a & (1u << 4);
  return f;
}

const X86Features& x86_features() {
  static const X86Features f = detect_x86();
  return f;
}
#endif

const KernelTable& initial_table() {
  const char* force = std::getenv("FLASHSLIM_FORCE_SCALAR");
  if (force && std::strcmp(force, "") != 0 && std::strcmp(force, "0") != 0)
    return simd::scalar_kernel_table();
  return *kernel_table(best_kernel_isa());
}

std::atomic<const KernelTable*>& selected() {
  static std::atomic<const KernelTable*> table{&initial_table()};
  return table;
}

}  // namespace

const KernelTable* kernel_table(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::Scalar:
      return &simd::scalar_kernel_table();
#if defined(__x86_64__)
    case KernelIsa::Avx2: {
      const X86Features& f = x86_features();
      return f.avx2 && f.fma && f.f16c ? &simd::avx2_kernel_table() : nullptr;
    }
    case KernelIsa::Avx2Vnni: {
      const X86Features& f = x86_features();
      return f.avx2 && f.fma && f.f16c && f.avx_vnni ? &simd::avx2_vnni_kernel_table() : nullptr;
    }
    case KernelIsa::Avx512: {
      const X86Features& f = x86_features();
      return f.avx2 && f.fma && f.f16c && f.avx512 ? &simd::avx512_kernel_table() : nullptr;
    }
#elif defined(__aarch64__)
    case KernelIsa::Neon:
      return &simd::neon_kernel_table();
    case KernelIsa::NeonDotprod:
      return getauxval(AT_HWCAP) & HWCAP_ASIMDDP ? &simd::neon_dotprod_kernel_table() : nullptr;
#endif
    default:
      return nullptr;
  }
}

KernelIsa best_kernel_isa() {
  for (auto it = kAllKernelIsas.rbegin(); it != kAllKernelIsas.rend(); ++it)
    if (kernel_table(*it)) return *it;
  return KernelIsa::Scalar;
}

const KernelTable& kernels() { return *selected().load(std::memory_order_acquire); }

const char* kernel_isa_name() { return kernels().name; }

void select_kernel_isa(std::string_view name) {
  if (name == "auto") {
    selected().store(kernel_table(best_kernel_isa()), std::memory_order_release);
    return;
  }
  for (KernelIsa isa : kAllKernelIsas) {
    const KernelTable* t = kernel_table(isa);
    if (t && name == t->name) {
      selected().store(t, std::memory_order_release);
      return;
    }
  }
  fail(
      "--cpu-isa '{}': not one of auto, scalar, avx2, avx2+vnni, avx512, neon, neon-dotprod that "
      "this CPU supports",
      name);
}

void quantize_activation_row(const KernelTable& k, GgmlType vec_dot_type, const float* x, void* dst,
                             int64_t n) {
  switch (vec_dot_type) {
    case GgmlType::Q8_0:
      return k.quantize_q8_0(x, dst, n);
    case GgmlType::Q8_1:
      return k.quantize_q8_1(x, dst, n);
    case GgmlType::Q8_K:
      return k.quantize_q8_K(x, dst, n);
    case GgmlType::F16:
      return k.quantize_f16(x, dst, n);
    default:
      type_traits(vec_dot_type).from_float(x, dst, n);
  }
}

}  // namespace flashslim
