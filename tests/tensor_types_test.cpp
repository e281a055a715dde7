// Tensor types: block layouts, fp16/bf16 rounding, quantize/dequantize error,
// dot-product semantics, and a cross-check against llama-quantize's output in
// the synthetic fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"
#include "tensor/activation.h"
#include "tensor/block_formats.h"
#include "tensor/fp16.h"
#include "tensor/ggml_type.h"

namespace flashslim {
namespace {

constexpr GgmlType kWeightTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                                     GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                     GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                     GgmlType::Q6_K};

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_bytes(type, n));
  type_traits(type).from_float(x.data(), q.data(), n);
  return q;
}

std::vector<float> dequantize(GgmlType type, const void* q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  type_traits(type).to_float(q, y.data(), n);
  return y;
}

// sqrt(sum (a-b)^2 / sum b^2)
double relative_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0.0;
  double ref = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    ref += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(err / ref);
}

TEST(TensorTypes, BlockSizesAndIds) {
  struct Expected {
    GgmlType type;
    uint32_t id;
    int64_t block;
    size_t bytes;
    GgmlType vec_dot_type;
  };
  const Expected table[] = {
      {GgmlType::F32, 0, 1, 4, GgmlType::F32},
      {GgmlType::F16, 1, 1, 2, GgmlType::F16},
      {GgmlType::Q4_0, 2, 32, 18, GgmlType::Q8_0},
      {GgmlType::Q4_1, 3, 32, 20, GgmlType::Q8_1},
      {GgmlType::Q5_0, 6, 32, 22, GgmlType::Q8_0},
      {GgmlType::Q5_1, 7, 32, 24, GgmlType::Q8_1},
      {GgmlType::Q8_0, 8, 32, 34, GgmlType::Q8_0},
      {GgmlType::Q8_1, 9, 32, 36, GgmlType::Q8_1},
      {GgmlType::Q2_K, 10, 256, 84, GgmlType::Q8_K},
      {GgmlType::Q3_K, 11, 256, 110, GgmlType::Q8_K},
      {GgmlType::Q4_K, 12, 256, 144, GgmlType::Q8_K},
      {GgmlType::Q5_K, 13, 256, 176, GgmlType::Q8_K},
      {GgmlType::Q6_K, 14, 256, 210, GgmlType::Q8_K},
      {GgmlType::Q8_K, 15, 256, 292, GgmlType::Q8_K},
      {GgmlType::BF16, 30, 1, 2, GgmlType::BF16},
  };
  for (const Expected& e : table) {
    const TypeTraits& t = type_traits(e.type);
    SCOPED_TRACE(t.name);
    EXPECT_EQ(ggml_type_from_id(e.id), e.type);
    EXPECT_EQ(t.block_size, e.block);
    EXPECT_EQ(t.type_size, e.bytes);
    EXPECT_EQ(t.vec_dot_type, e.vec_dot_type);
    EXPECT_EQ(t.is_quantized, e.block > 1);
    EXPECT_NE(t.to_float, nullptr);
    EXPECT_NE(t.from_float, nullptr);
    const bool activation_only = e.type == GgmlType::Q8_1 || e.type == GgmlType::Q8_K;
    EXPECT_EQ(t.vec_dot == nullptr, activation_only);
  }
  for (uint32_t id : {4u, 5u, 16u, 29u, 31u, 1000u}) EXPECT_FALSE(ggml_type_from_id(id)) << id;
  EXPECT_EQ(type_name(GgmlType::Q4_K), "Q4_K");
  EXPECT_EQ(row_bytes(GgmlType::Q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(GgmlType::F16, 7), 14u);
  EXPECT_THROW(row_bytes(GgmlType::Q4_0, 33), Error);
  EXPECT_EQ(activation_row_bytes(GgmlType::Q4_K, 256), 292u);
  EXPECT_EQ(activation_row_bytes(GgmlType::Q4_1, 64), 72u);
  EXPECT_EQ(activation_row_bytes(GgmlType::F32, 10), 40u);
}

TEST(Fp16, EveryHalfRoundTripsAndTableMatches) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(static_cast<f16_t>(h));
    ASSERT_EQ(std::bit_cast<uint32_t>(f), std::bit_cast<uint32_t>(fp16_to_fp32_compute(h)));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
    } else {
      ASSERT_EQ(fp32_to_fp16(f), h) << h;
    }
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(fp16_to_fp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
  // Ties go to the even mantissa.
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  // Overflow: 65520 is the tie between 65504 and 2^16, and goes to inf.
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()), 0x7e00);
  // Subnormals and underflow (ties to even at the bottom).
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -26)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -14)), 0x8400);    // smallest normal
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up into the normals
  EXPECT_EQ(fp32_to_fp16(1e-30f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

// Nearest-even property on random floats across the half range, checked
// against the neighbouring halves in double.
TEST(Fp16, RandomFloatsRoundToNearestEven) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> exponent(-27.0f, 15.99f);  // below 65504
  for (int i = 0; i < 200000; ++i) {
    const float f = std::exp2(exponent(rng)) * ((i & 1) ? -1.0f : 1.0f);
    const f16_t h = fp32_to_fp16(f);
    const double err = std::fabs(static_cast<double>(fp16_to_fp32(h)) - f);
    for (int step : {-1, 1}) {
      const uint16_t mag = (h & 0x7fff);
      if ((step < 0 && mag == 0) || mag + step >= 0x7c00) continue;
      const f16_t other = static_cast<f16_t>((h & 0x8000) | (mag + step));
      const double other_err = std::fabs(static_cast<double>(fp16_to_fp32(other)) - f);
      ASSERT_LE(err, other_err) << f;
      if (err == other_err) {
        ASSERT_EQ(h & 1, 0) << f;
      }
    }
  }
}

TEST(Bf16, RoundingAndSpecials) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_fp32(0xc040), -3.0f);
  EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie, even stays
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie, odd goes up
  EXPECT_EQ(fp32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to inf
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  // NaN is quieted, sign and top payload bits kept.
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0xffa00000u)), 0xffe0);
  // Subnormals round like everything else (not flushed).
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x00018000u)), 0x0002);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
}

TEST(KnownAnswer, Q4_0NibblesAreLevelsMinus8) {
  block_q4_0 b{};
  b.d = fp32_to_fp16(1.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequantize(GgmlType::Q4_0, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j - 8);
    EXPECT_EQ(y[j + 16], 7 - j);
  }
}

TEST(KnownAnswer, Q5_1HighBitsAndMin) {
  block_q5_1 b{};
  b.d = fp32_to_fp16(0.5f);
  b.m = fp32_to_fp16(-4.0f);
  const uint32_t qh = 0x80000001u;  // element 0 and element 31 get +16
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (j << 4));
  const std::vector<float> y = dequantize(GgmlType::Q5_1, &b, 32);
  EXPECT_EQ(y[0], 16 * 0.5f - 4.0f);
  EXPECT_EQ(y[1], 1 * 0.5f - 4.0f);
  EXPECT_EQ(y[16], 0 * 0.5f - 4.0f);
  EXPECT_EQ(y[31], (15 + 16) * 0.5f - 4.0f);
}

// Q8_0 activations round half away from zero (roundf), as ggml's reference.
TEST(KnownAnswer, Q8_0RoundsHalfAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1 exactly
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.5f;
  x[4] = 3.49f;
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_0, x);
  block_q8_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(fp16_to_fp32(b.d), 1.0f);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], 3);
  EXPECT_EQ(b.qs[2], -3);
  EXPECT_EQ(b.qs[3], 1);
  EXPECT_EQ(b.qs[4], 3);
}

TEST(KnownAnswer, Q8_1StoresScaledSum) {
  std::vector<float> x(32, 1.0f);
  x[0] = -127.0f;
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_1, x);
  block_q8_1 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(fp16_to_fp32(b.d), 1.0f);
  EXPECT_EQ(fp16_to_fp32(b.s), -127.0f + 31.0f);
}

// Q8_K: the signed extreme maps to -127, d = 1/iscale stays f32, ties to even.
TEST(KnownAnswer, Q8_KSignedScaleAndBlockSums) {
  std::vector<float> x(256);
  for (int j = 0; j < 256; ++j) x[j] = static_cast<float>(j % 16) - 7.5f;
  x[0] = 127.0f;  // positive extreme -> iscale = -1, d = -1
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_K, x);
  block_q8_K b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.d, -1.0f);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], 6);   // -(-6.5) = 6.5 -> 6 (even)
  EXPECT_EQ(b.qs[2], 6);   // 5.5 -> 6
  EXPECT_EQ(b.qs[16], 8);  // 7.5 -> 8
  EXPECT_EQ(b.qs[17], 6);
  for (int j = 1; j < 16; ++j) {
    int sum = 0;
    for (int l = 0; l < 16; ++l) sum += b.qs[16 * j + l];
    EXPECT_EQ(b.bsums[j], sum);
  }
  const std::vector<float> y = dequantize(GgmlType::Q8_K, q.data(), 256);
  EXPECT_EQ(y[0], 127.0f);
  EXPECT_EQ(y[16], -8.0f);
}

// Integer inputs with unit scales: the dot product must be exact.
TEST(VecDot, ExactOnSmallIntegers) {
  block_q8_0 w[2];
  block_q8_0 a[2];
  int64_t expected = 0;
  for (int i = 0; i < 2; ++i) {
    w[i].d = fp32_to_fp16(1.0f);
    a[i].d = fp32_to_fp16(1.0f);
    for (int j = 0; j < 32; ++j) {
      w[i].qs[j] = static_cast<int8_t>(j - 16 + i);
      a[i].qs[j] = static_cast<int8_t>(3 - j % 7);
      expected += w[i].qs[j] * a[i].qs[j];
    }
  }
  float out = 0;
  type_traits(GgmlType::Q8_0).vec_dot(64, &out, w, a);
  EXPECT_EQ(out, static_cast<float>(expected));

  block_q4_0 w4{};
  w4.d = fp32_to_fp16(2.0f);
  int64_t expected4 = 0;
  for (int j = 0; j < 16; ++j) {
    w4.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    expected4 += 2 * ((j - 8) * a[0].qs[j] + (7 - j) * a[0].qs[j + 16]);
  }
  type_traits(GgmlType::Q4_0).vec_dot(32, &out, &w4, a);
  EXPECT_EQ(out, static_cast<float>(expected4));

  const std::vector<float> wf = {1, 2, 3, 4};
  const std::vector<float> xf = {-1, 0.5f, 2, 0.25f};
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
    const std::vector<uint8_t> wq = quantize(t, wf);
    const std::vector<uint8_t> xq = quantize(t, xf);
    type_traits(t).vec_dot(4, &out, wq.data(), xq.data());
    EXPECT_EQ(out, 7.0f) << type_name(t);
  }
}

struct ErrorBound {
  GgmlType type;
  double max_rel_rms;  // quantize -> dequantize of N(0,1) data
};

// Bounds sit above what ggml's quantizers reach on Gaussian data
// (about 2^-bits scaled); measured values are printed.
constexpr ErrorBound kRoundTripBounds[] = {
    {GgmlType::F32, 0.0},    {GgmlType::F16, 3e-4},  {GgmlType::BF16, 2.5e-3},
    {GgmlType::Q8_0, 0.01},  {GgmlType::Q8_1, 0.01}, {GgmlType::Q8_K, 0.01},
    {GgmlType::Q6_K, 0.025}, {GgmlType::Q5_0, 0.05}, {GgmlType::Q5_1, 0.05},
    {GgmlType::Q5_K, 0.04},  {GgmlType::Q4_0, 0.11}, {GgmlType::Q4_1, 0.11},
    {GgmlType::Q4_K, 0.08},  {GgmlType::Q3_K, 0.2},  {GgmlType::Q2_K, 0.4},
};

TEST(RoundTrip, GaussianErrorWithinTypeBound) {
  const std::vector<float> x = gaussian(256 * 64, 1);
  for (const ErrorBound& b : kRoundTripBounds) {
    const std::vector<uint8_t> q = quantize(b.type, x);
    const std::vector<float> y = dequantize(b.type, q.data(), static_cast<int64_t>(x.size()));
    const double err = relative_rms(y, x);
    std::printf("  %-5s rel RMS %.5f\n", type_name(b.type).data(), err);
    EXPECT_LE(err, b.max_rel_rms) << type_name(b.type);
  }
}

TEST(RoundTrip, ZeroBlocksGiveZerosWithoutNaN) {
  const std::vector<float> zeros(512, 0.0f);
  for (const ErrorBound& b : kRoundTripBounds) {
    const std::vector<uint8_t> q = quantize(b.type, zeros);
    for (float v : dequantize(b.type, q.data(), 512)) ASSERT_EQ(v, 0.0f) << type_name(b.type);
  }
  for (GgmlType t : kWeightTypes) {
    const std::vector<uint8_t> w = quantize(t, zeros);
    const GgmlType at = type_traits(t).vec_dot_type;
    const std::vector<uint8_t> a = quantize(at, gaussian(512, 3));
    float out = -1;
    type_traits(t).vec_dot(512, &out, w.data(), a.data());
    EXPECT_EQ(out, 0.0f) << type_name(t);
  }
}

// Very small and large magnitudes (up to ~2e4, inside the f16 range of the
// stored scales and minima): finite results, relative error of the same order
// as at unit scale while the f16 scales are normal.
TEST(RoundTrip, ExtremeScalesStayFinite) {
  for (float scale : {1e-7f, 1e-3f, 1e3f, 5e3f}) {
    const std::vector<float> x = gaussian(512, 5, scale);
    for (const ErrorBound& b : kRoundTripBounds) {
      const std::vector<uint8_t> q = quantize(b.type, x);
      const std::vector<float> y = dequantize(b.type, q.data(), 512);
      for (float v : y) ASSERT_TRUE(std::isfinite(v)) << type_name(b.type) << " scale " << scale;
      if (scale >= 1e-3f) {
        EXPECT_LE(relative_rms(y, x), 2 * b.max_rel_rms + 1e-3)
            << type_name(b.type) << " " << scale;
      }
    }
  }
}

// Minimum term of Q4_1/Q5_1 weights: ggml uses the activation block's f16
// s = d * sum(qs) instead of summing the dequantized activation, so the
// expected value does the same: sum(w * a) - m * sum(a) + m * s per block.
double q8_1_min_correction(GgmlType t, const std::vector<uint8_t>& w, const std::vector<uint8_t>& a,
                           const std::vector<float>& ad) {
  if (type_traits(t).vec_dot_type != GgmlType::Q8_1) return 0.0;
  const size_t wbytes = type_traits(t).type_size;
  double correction = 0.0;
  for (size_t b = 0; b < ad.size() / QK8_1; ++b) {
    f16_t m_bits;  // q4_1 and q5_1 both start with {d, m}
    std::memcpy(&m_bits, w.data() + b * wbytes + sizeof(f16_t), sizeof(m_bits));
    block_q8_1 act;
    std::memcpy(&act, a.data() + b * sizeof(block_q8_1), sizeof(act));
    double sum_a = 0.0;
    for (int j = 0; j < QK8_1; ++j) sum_a += ad[b * QK8_1 + j];
    correction += fp16_to_fp32(m_bits) * (fp16_to_fp32(act.s) - sum_a);
  }
  return correction;
}

// vec_dot equals the dot product of the dequantized weight and the
// dequantized (rounded) activation, up to float summation error.
TEST(VecDot, MatchesDequantizedDot) {
  const int64_t n = 256 * 8;
  for (GgmlType t : kWeightTypes) {
    const TypeTraits& tt = type_traits(t);
    for (uint32_t seed = 0; seed < 4; ++seed) {
      const std::vector<float> wf = gaussian(n, 100 + seed);
      const std::vector<float> xf = gaussian(n, 200 + seed, 3.0f);
      const std::vector<uint8_t> w = quantize(t, wf);
      std::vector<uint8_t> a(activation_row_bytes(t, n));
      quantize_activation(tt.vec_dot_type, xf.data(), a.data(), n);
      const std::vector<float> wd = dequantize(t, w.data(), n);
      const std::vector<float> ad = dequantize(tt.vec_dot_type, a.data(), n);
      double expected = q8_1_min_correction(t, w, a, ad);
      double magnitude = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        expected += static_cast<double>(wd[i]) * ad[i];
        magnitude += std::fabs(static_cast<double>(wd[i]) * ad[i]);
      }
      float out = 0;
      tt.vec_dot(n, &out, w.data(), a.data());
      EXPECT_NEAR(out, expected, 2e-6 * magnitude) << tt.name << " seed " << seed;
    }
  }
}

// ---- Real files: llama-quantize's output for the same weights -------------

std::vector<uint8_t> read_bytes(const std::string& path, uint64_t offset, uint64_t n) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  std::vector<uint8_t> bytes(n);
  f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n));
  EXPECT_EQ(static_cast<uint64_t>(f.gcount()), n) << path;
  return bytes;
}

std::vector<float> tensor_as_float(const gguf::File& file, const gguf::TensorInfo& t) {
  const std::vector<uint8_t> bytes = read_bytes(file.path, t.offset, t.nbytes);
  const int64_t n = t.cols() * t.rows();
  return dequantize(t.type, bytes.data(), n);
}

const std::string kSynth = std::string(FLASHSLIM_FIXTURES) + "/synth/";

// Relative RMS error bound of each type against the F16 weights.
double file_error_bound(GgmlType t) {
  switch (t) {
    case GgmlType::BF16:
      return 5e-3;
    case GgmlType::Q8_0:
      return 0.01;
    case GgmlType::Q6_K:
      return 0.03;
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q5_K:
      return 0.06;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q4_K:
      return 0.15;
    case GgmlType::Q3_K:
      return 0.25;
    case GgmlType::Q2_K:
      return 0.5;
    default:
      return 1e-6;
  }
}

// Every tensor of every tiny-llama file dequantizes to the F16 weights within
// its type's bound, and requantizing the F16 weights with our reference
// quantizer reproduces llama-quantize's bytes.
TEST(RealFiles, TinyLlamaTensorsMatchF16AndRequantizeByteExact) {
  const gguf::File f16 = gguf::read_file(kSynth + "tiny-llama-F16.gguf");
  const char* files[] = {"BF16", "Q8_0",   "Q4_0",   "Q4_1",   "Q5_0", "Q5_1",
                         "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"};
  std::map<GgmlType, int> tensors_checked;
  std::map<GgmlType, double> worst_error;
  for (const char* name : files) {
    const gguf::File q = gguf::read_file(kSynth + "tiny-llama-" + name + ".gguf");
    for (const gguf::TensorInfo& t : q.tensors) {
      if (t.type == GgmlType::F32) continue;  // norms, stored as-is
      SCOPED_TRACE(std::string(name) + " " + t.name + " " + std::string(type_name(t.type)));
      const gguf::TensorInfo* ref = f16.find_tensor(t.name);
      ASSERT_NE(ref, nullptr);
      const std::vector<float> want = tensor_as_float(f16, *ref);
      const std::vector<float> got = tensor_as_float(q, t);
      ASSERT_EQ(got.size(), want.size());
      const double err = relative_rms(got, want);
      EXPECT_LE(err, file_error_bound(t.type));
      worst_error[t.type] = std::max(worst_error[t.type], err);
      // Requantize a prefix (whole rows, at most 2^18 elements: every layer
      // matrix and the first 1024 rows of token_embd) to keep the test fast.
      const int64_t prefix_rows = std::min<int64_t>(t.rows(), (int64_t{1} << 18) / t.cols());
      const std::vector<float> prefix(want.begin(), want.begin() + prefix_rows * t.cols());
      const std::vector<uint8_t> requantized = quantize(t.type, prefix);
      const std::vector<uint8_t> file_bytes =
          read_bytes(q.path, t.offset, static_cast<uint64_t>(prefix_rows) * t.row_bytes());
      size_t differing_blocks = 0;
      const size_t block_bytes = type_traits(t.type).type_size;
      for (size_t off = 0; off < file_bytes.size(); off += block_bytes) {
        differing_blocks +=
            std::memcmp(file_bytes.data() + off, requantized.data() + off, block_bytes) != 0;
      }
      EXPECT_EQ(differing_blocks, 0u) << "of " << file_bytes.size() / block_bytes;
      ++tensors_checked[t.type];
    }
  }
  for (const auto& [type, err] : worst_error) {
    std::printf("  %-5s %3d tensors, worst rel RMS vs F16 %.5f\n", type_name(type).data(),
                tensors_checked[type], err);
  }
  for (GgmlType t : kWeightTypes) {
    if (t == GgmlType::F32 || t == GgmlType::F16) continue;  // F16 is the reference itself
    EXPECT_GT(tensors_checked[t], 0) << type_name(t) << " not covered by the fixtures";
  }
}

}  // namespace
}  // namespace flashslim
