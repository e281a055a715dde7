// Every SIMD kernel table this CPU can run, against the scalar table: dot
// products and matrix tiles within a tight relative tolerance (only the order
// of float additions differs; the ARM tables keep the reference's order and
// must be exact), dequantizers and activation quantizers bit-identical; on
// random blocks and edge cases (all zero, extreme scales, rounding ties, sizes
// that are not multiples of the vector width).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"
#include "tensor/block_formats.h"
#include "tensor/fp16.h"
#include "tensor/ggml_type.h"

namespace flashslim {
namespace {

constexpr GgmlType kWeightTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                                     GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                     GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                     GgmlType::Q6_K};

std::vector<const KernelTable*> simd_tables() {
  std::vector<const KernelTable*> out;
  for (KernelIsa isa : kAllKernelIsas)
    if (isa != KernelIsa::Scalar && kernel_table(isa)) out.push_back(kernel_table(isa));
  return out;
}

const KernelTable& scalar() { return *kernel_table(KernelIsa::Scalar); }

// Dot products that add in the scalar reference's order: every quantized
// type (the x86 tables and the reference both follow ggml's x86 float order),
// and everything on the ARM tables.
bool exact_dots(const KernelTable& k, GgmlType type) {
  const bool float_row = type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
  return !float_row || k.isa == KernelIsa::Neon || k.isa == KernelIsa::NeonDotprod;
}

// Rows of floats of the kinds the tests use.
enum class Shape { Gaussian, Zero, Huge, Tiny, Outliers, Ties };

std::vector<float> make_floats(size_t n, Shape shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    switch (shape) {
      case Shape::Gaussian:
        v[i] = g(rng);
        break;
      case Shape::Zero:
        v[i] = 0.0f;
        break;
      case Shape::Huge:
        v[i] = g(rng) * 3.0e4f;
        break;
      case Shape::Tiny:
        v[i] = g(rng) * 1.0e-6f;
        break;
      case Shape::Outliers:
        v[i] = (i % 37 == 5) ? g(rng) * 200.0f : g(rng) * 0.01f;
        break;
      // Every block's magnitude is 127 (a mix of signs), other values at
      // halves: x * 127 / amax lands exactly on rounding ties.
      case Shape::Ties:
        v[i] = (i % 32 == 0) ? ((i / 32) % 2 ? -127.0f : 127.0f)
                             : static_cast<float>(static_cast<int>(rng() % 253) - 126) + 0.5f;
        break;
    }
  }
  return v;
}

constexpr Shape kShapes[] = {Shape::Gaussian, Shape::Zero,     Shape::Huge,
                             Shape::Tiny,     Shape::Outliers, Shape::Ties};

std::vector<uint8_t> to_type(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(type, static_cast<int64_t>(x.size())));
  type_traits(type).from_float(x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

std::vector<uint8_t> activations(const KernelTable& k, GgmlType weight_type,
                                 const std::vector<float>& x) {
  const GgmlType a = type_traits(weight_type).vec_dot_type;
  std::vector<uint8_t> q(row_bytes(a, static_cast<int64_t>(x.size())));
  quantize_activation_row(k, a, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

std::vector<float> to_float(GgmlType type, const uint8_t* q, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  scalar().of(type).to_float(q, out.data(), n);
  return out;
}

// Bound for |simd - scalar|: relative 1e-5 of the sum of |products| (float
// sums of n terms reordered), plus a tiny absolute floor.
double tolerance(GgmlType type, const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto wf = to_float(type, w, n);
  const auto af = to_float(type_traits(type).vec_dot_type, a, n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(wf[i]) * af[i]);
  return 1e-5 * s + 1e-30;
}

// Sizes: whole blocks, and for float rows any n.
std::vector<int64_t> sizes(GgmlType type) {
  const int64_t b = type_traits(type).block_size;
  if (b == 1) return {1, 7, 8, 9, 31, 33, 100, 256, 1000};
  return {b, 2 * b, 3 * b, 7 * b, 9 * b};
}

// Random bytes for every field; scale fields replaced by finite values (a
// random bit pattern may be NaN), so every level and scale bit occurs.
std::vector<uint8_t> random_blocks(GgmlType type, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> q(row_bytes(type, n));
  for (uint8_t& byte : q) byte = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  auto fix = [&](size_t block_bytes, std::initializer_list<size_t> f16_offsets) {
    for (size_t at = 0; at < q.size(); at += block_bytes)
      for (size_t off : f16_offsets) {
        const f16_t h = fp32_to_fp16(scale(rng));
        std::memcpy(&q[at + off], &h, sizeof(h));
      }
  };
  switch (type) {
    case GgmlType::Q4_0:
      fix(sizeof(block_q4_0), {offsetof(block_q4_0, d)});
      break;
    case GgmlType::Q4_1:
      fix(sizeof(block_q4_1), {offsetof(block_q4_1, d), offsetof(block_q4_1, m)});
      break;
    case GgmlType::Q5_0:
      fix(sizeof(block_q5_0), {offsetof(block_q5_0, d)});
      break;
    case GgmlType::Q5_1:
      fix(sizeof(block_q5_1), {offsetof(block_q5_1, d), offsetof(block_q5_1, m)});
      break;
    case GgmlType::Q8_0:
      fix(sizeof(block_q8_0), {offsetof(block_q8_0, d)});
      break;
    case GgmlType::Q2_K:
      fix(sizeof(block_q2_K), {offsetof(block_q2_K, d), offsetof(block_q2_K, dmin)});
      break;
    case GgmlType::Q3_K:
      fix(sizeof(block_q3_K), {offsetof(block_q3_K, d)});
      break;
    case GgmlType::Q4_K:
      fix(sizeof(block_q4_K), {offsetof(block_q4_K, d), offsetof(block_q4_K, dmin)});
      break;
    case GgmlType::Q5_K:
      fix(sizeof(block_q5_K), {offsetof(block_q5_K, d), offsetof(block_q5_K, dmin)});
      break;
    case GgmlType::Q6_K:
      fix(sizeof(block_q6_K), {offsetof(block_q6_K, d)});
      break;
    default:
      return to_type(type, make_floats(static_cast<size_t>(n), Shape::Gaussian, seed));
  }
  return q;
}

std::string label(const KernelTable& k, GgmlType type, int64_t n, const char* what) {
  return std::string(k.name) + " " + std::string(type_name(type)) + " n=" + std::to_string(n) +
         " " + what;
}

TEST(KernelsSimd, DispatchPicksASupportedTable) {
  ASSERT_NE(kernel_table(KernelIsa::Scalar), nullptr);
  EXPECT_NE(kernel_table(best_kernel_isa()), nullptr);
  EXPECT_NE(std::string(kernel_isa_name()), "");
  select_kernel_isa("scalar");
  EXPECT_STREQ(kernel_isa_name(), "scalar");
  select_kernel_isa("auto");
  EXPECT_EQ(kernels().isa, best_kernel_isa());
  EXPECT_THROW(select_kernel_isa("sse9"), Error);
  std::printf("best kernels here: %s (%zu SIMD tables tested)\n",
              kernel_table(best_kernel_isa())->name, simd_tables().size());
}

TEST(KernelsSimd, VecDotMatchesScalar) {
  for (const KernelTable* k : simd_tables())
    for (GgmlType type : kWeightTypes)
      for (int64_t n : sizes(type))
        for (int variant = 0; variant < 2 + static_cast<int>(std::size(kShapes)); ++variant) {
          // Weights: random raw blocks, or quantized from a shape; activations
          // from a shape (quantized by the scalar quantizer).
          const Shape shape = kShapes[variant % std::size(kShapes)];
          const auto w = variant < 2 ? random_blocks(type, n, 100 + variant)
                                     : to_type(type, make_floats(n, shape, 7));
          const auto a = activations(
              scalar(), type, make_floats(n, kShapes[(variant + 1) % std::size(kShapes)], 9));
          float want = 0, got = 0;
          scalar().of(type).vec_dot(n, &want, w.data(), a.data());
          k->of(type).vec_dot(n, &got, w.data(), a.data());
          if (!std::isfinite(want)) {  // f16 activations of Shape::Huge overflow to inf
            EXPECT_FALSE(std::isfinite(got)) << label(*k, type, n, "vec_dot variant ") << variant;
            continue;
          }
          ASSERT_NEAR(got, want,
                      exact_dots(*k, type) ? 0.0 : tolerance(type, w.data(), a.data(), n))
              << label(*k, type, n, "vec_dot variant ") << variant;
        }
}

// One matrix kernel of table k (TypeKernels::gemm or gemm_repacked) against
// the scalar table's on tiles of every row and token count listed.
void expect_gemm_matches_scalar(const KernelTable& k, GgmlType type, GemmFn TypeKernels::*kernel,
                                int64_t n, std::initializer_list<int64_t> row_counts, bool exact) {
  const size_t wb = row_bytes(type, n);
  const size_t ab = row_bytes(type_traits(type).vec_dot_type, n);
  for (int64_t rows : row_counts)
    for (int64_t tokens : {1, 2, 3, 4, 5, 7, 9}) {
      std::vector<uint8_t> w, a;
      for (int64_t r = 0; r < rows; ++r) {
        const auto row = random_blocks(type, n, static_cast<uint32_t>(r + 17));
        w.insert(w.end(), row.begin(), row.end());
      }
      for (int64_t t = 0; t < tokens; ++t) {
        const auto row = activations(scalar(), type,
                                     make_floats(n, Shape::Gaussian, static_cast<uint32_t>(t + 3)));
        a.insert(a.end(), row.begin(), row.end());
      }
      // y is tokens × rows inside a wider stride, to catch stray writes.
      const int64_t stride = rows + 3;
      std::vector<float> want(tokens * stride, -1.0f), got(tokens * stride, -1.0f);
      (scalar().of(type).*kernel)(n, rows, tokens, w.data(), wb, a.data(), ab, want.data(), stride);
      (k.of(type).*kernel)(n, rows, tokens, w.data(), wb, a.data(), ab, got.data(), stride);
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t r = 0; r < stride; ++r) {
          const size_t i = t * stride + r;
          const double tol =
              r < rows && !exact ? tolerance(type, w.data() + r * wb, a.data() + t * ab, n) : 0.0;
          ASSERT_NEAR(got[i], want[i], tol) << label(k, type, n, "gemm") << " rows=" << rows
                                            << " tokens=" << tokens << " r=" << r << " t=" << t;
        }
    }
}

TEST(KernelsSimd, GemmTilesMatchScalar) {
  for (const KernelTable* k : simd_tables())
    for (GgmlType type : kWeightTypes)
      expect_gemm_matches_scalar(*k, type, &TypeKernels::gemm,
                                 3 * std::max<int64_t>(type_traits(type).block_size, 11),
                                 {1, 3, 4, 5, 9}, exact_dots(*k, type));
}

// llama.cpp's repacked Q4_0 order is one float chain per output: every table
// keeps it exactly, in 8-row groups and their remainders, and across the
// x86 kernels' passes of 256 blocks.
TEST(KernelsSimd, RepackedQ4_0GemmIsBitIdentical) {
  for (const KernelTable* k : simd_tables())
    for (int64_t n : {3 * 32, 300 * 32})
      expect_gemm_matches_scalar(*k, GgmlType::Q4_0, &TypeKernels::gemm_repacked, n,
                                 {1, 3, 8, 9, 17}, true);
}

// The matrices llama.cpp repacks (and multiplies in the repacked order).
TEST(Matmul, RepacksAsLlamaCpp) {
  auto tensor = [](const char* name, GgmlType type, int64_t rows) {
    gguf::TensorInfo t;
    t.name = name;
    t.type = type;
    t.n_dims = 2;
    t.ne = {64, rows, 1, 1};
    return t;
  };
  EXPECT_TRUE(llama_cpp_repacks(tensor("blk.0.attn_q.weight", GgmlType::Q4_0, 64)));
  EXPECT_TRUE(llama_cpp_repacks(tensor("output.weight", GgmlType::Q4_0, 512)));
  EXPECT_FALSE(llama_cpp_repacks(tensor("blk.0.ffn_up.weight", GgmlType::Q4_0, 172)));
  EXPECT_FALSE(llama_cpp_repacks(tensor("token_embd.weight", GgmlType::Q4_0, 512)));
  EXPECT_FALSE(llama_cpp_repacks(tensor("blk.0.attn_q.weight", GgmlType::Q8_0, 64)));
}

TEST(KernelsSimd, DequantizeIsBitIdentical) {
  for (const KernelTable* k : simd_tables())
    for (GgmlType type : kWeightTypes)
      for (int64_t n : sizes(type))
        for (uint32_t seed : {1u, 2u}) {
          const auto q = random_blocks(type, n, seed);
          std::vector<float> want(n), got(n);
          scalar().of(type).to_float(q.data(), want.data(), n);
          k->of(type).to_float(q.data(), got.data(), n);
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), n * sizeof(float)))
              << label(*k, type, n, "to_float");
        }
}

TEST(KernelsSimd, ActivationQuantizersAreBitIdentical) {
  for (const KernelTable* k : simd_tables())
    for (GgmlType act : {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K, GgmlType::F16})
      for (int64_t blocks : {1, 3, 8})
        for (Shape shape : kShapes)
          for (uint32_t seed : {1u, 2u, 3u}) {
            const int64_t n =
                blocks * type_traits(act).block_size * (act == GgmlType::F16 ? 37 : 1);
            auto x = make_floats(n, shape, seed);
            if (shape == Shape::Ties &&
                seed == 3)  // equal magnitudes of both signs: the first decides
              for (int64_t i = 0; i + 1 < n; i += 64) x[i + 1] = -x[i];
            std::vector<uint8_t> want(row_bytes(act, n)), got(row_bytes(act, n));
            quantize_activation_row(scalar(), act, x.data(), want.data(), n);
            quantize_activation_row(*k, act, x.data(), got.data(), n);
            ASSERT_EQ(want, got) << k->name << " " << type_name(act) << " n=" << n << " shape "
                                 << static_cast<int>(shape) << " seed " << seed;
          }
}

TEST(KernelsSimd, RowOpsMatchScalar) {
  for (const KernelTable* k : simd_tables())
    for (int64_t n : {1, 7, 8, 9, 64, 100, 2048, 5633}) {
      const auto x = make_floats(n, Shape::Gaussian, 5);
      const auto w = make_floats(n, Shape::Gaussian, 6);
      std::vector<float> want(n), got(n);
      scalar().rms_norm(x.data(), w.data(), want.data(), n, 1e-5f);
      k->rms_norm(x.data(), w.data(), got.data(), n, 1e-5f);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i]) + 1e-7)
            << k->name << " rms_norm " << n;

      for (float scale : {0.125f, 30.0f}) {
        want = x;
        got = x;
        scalar().softmax(want.data(), n, scale);
        k->softmax(got.data(), n, scale);
        ASSERT_EQ(want, got) << k->name << " softmax " << n;  // same exp, same sum order
      }

      auto g =
          make_floats(n, Shape::Huge, 8);  // silu over a wide range: exp overflow and underflow
      for (int64_t i = 0; i < n; i += 2) g[i] = x[i] * 4.0f;
      want = g;
      got = g;
      scalar().swiglu(want.data(), w.data(), n);
      k->swiglu(got.data(), w.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], want[i]) << k->name << " swiglu " << n << " g=" << g[i];

      want = x;
      got = x;
      scalar().add(want.data(), w.data(), n);
      k->add(got.data(), w.data(), n);
      ASSERT_EQ(want, got) << k->name << " add " << n;
    }
}

TEST(ThreadPoolTest, CoversEveryIndexOnceAcrossManyLoops) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<int> hits(1000);
    for (int round = 0; round < 400; ++round) {
      const int64_t n = round + 1;
      pool.parallel_for(n, [&](int thread, int64_t begin, int64_t end) {
        ASSERT_LT(thread, threads);
        for (int64_t i = begin; i < end; ++i) ++hits[i];
      });
    }
    int64_t total = 0;
    for (int h : hits) total += h;
    EXPECT_EQ(total, 400 * 401 / 2) << threads;  // n runs over 1..400
  }
}

}  // namespace
}  // namespace flashslim
