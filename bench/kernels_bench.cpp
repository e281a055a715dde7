// Kernel microbenchmarks: matrix-vector (decode) and matrix-matrix (prefill
// tiles) per weight type and kernel table, reporting GB/s of weight bytes
// consumed (bytes_per_second), plus activation quantization and row ops.
// Gemm runs on 1 thread, and for the best table also on 2 threads (rows split
// in chunks claimed by the pool's threads, as kernels/matmul.cpp does); the
// weight matrix (2048 x 4096) exceeds L2, as in decode. gemm_dram rotates over
// copies of the matrix totalling more than L3, so decode's weights come from
// DRAM as they do for a whole model.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/thread_pool.h"
#include "tensor/ggml_type.h"

namespace flashslim {
namespace {

constexpr int64_t kCols = 2048;
constexpr int64_t kRows = 4096;

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A kRows x kCols matrix of `type`, and n_tokens activation rows for it.
struct Problem {
  std::vector<uint8_t> w, act;
  size_t w_row = 0, act_row = 0;
  std::vector<float> y;
};

Problem make_problem(const KernelTable& k, GgmlType type, int64_t n_tokens) {
  Problem p;
  const TypeTraits& t = type_traits(type);
  p.w_row = row_bytes(type, kCols);
  p.act_row = row_bytes(t.vec_dot_type, kCols);
  p.w.resize(p.w_row * kRows);
  const auto row = gaussian(kCols, 1);
  for (int64_t r = 0; r < kRows; ++r) t.from_float(row.data(), p.w.data() + r * p.w_row, kCols);
  p.act.resize(p.act_row * n_tokens);
  for (int64_t i = 0; i < n_tokens; ++i) {
    const auto x = gaussian(kCols, static_cast<uint32_t>(i + 2));
    quantize_activation_row(k, t.vec_dot_type, x.data(), p.act.data() + i * p.act_row, kCols);
  }
  p.y.resize(static_cast<size_t>(kRows * n_tokens));
  return p;
}

// y = w * act for all of p's tokens, rows split as kernels/matmul.cpp does.
void run_gemm(ThreadPool& pool, GemmFn gemm, const uint8_t* w, Problem& p, int64_t n_tokens) {
  constexpr int64_t kChunk = 64;  // rows per claim
  std::atomic<int64_t> next{0};
  pool.parallel_for(pool.size(), [&](int, int64_t, int64_t) {
    for (int64_t r0 = next.fetch_add(kChunk); r0 < kRows; r0 = next.fetch_add(kChunk))
      gemm(kCols, std::min(kChunk, kRows - r0), n_tokens, w + r0 * p.w_row, p.w_row, p.act.data(),
           p.act_row, p.y.data() + r0, kRows);
  });
  benchmark::DoNotOptimize(p.y.data());
}

void BM_Gemm(benchmark::State& state, KernelIsa isa, GgmlType type, int n_threads) {
  const KernelTable* k = kernel_table(isa);  // registered only where available
  const int64_t n_tokens = state.range(0);
  Problem p = make_problem(*k, type, n_tokens);
  ThreadPool pool(n_threads);
  for (auto _ : state) run_gemm(pool, k->of(type).gemm, p.w.data(), p, n_tokens);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(p.w.size()));
  state.counters["MAC/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kRows * kCols * n_tokens,
                         benchmark::Counter::kIsRate);
}

// Decode (one token) over copies of the matrix totalling >= 384 MiB, used in
// turn, so no copy is still in L3 (32-105 MiB on our machines) when it comes round again.
void BM_GemmDram(benchmark::State& state, KernelIsa isa, GgmlType type, int n_threads) {
  const KernelTable* k = kernel_table(isa);  // registered only where available
  Problem p = make_problem(*k, type, 1);
  constexpr size_t kTotalBytes = size_t{384} << 20;
  const size_t n_copies = (kTotalBytes + p.w.size() - 1) / p.w.size();
  std::vector<uint8_t> copies(n_copies * p.w.size());
  for (size_t c = 0; c < n_copies; ++c)
    std::copy(p.w.begin(), p.w.end(), copies.begin() + static_cast<std::ptrdiff_t>(c * p.w.size()));
  ThreadPool pool(n_threads);
  size_t c = 0;
  for (auto _ : state) {
    run_gemm(pool, k->of(type).gemm, copies.data() + c * p.w.size(), p, 1);
    c = (c + 1) % n_copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(p.w.size()));
}

void BM_QuantizeActivation(benchmark::State& state, KernelIsa isa, GgmlType act_type) {
  const KernelTable* k = kernel_table(isa);  // registered only where available
  const auto x = gaussian(kCols * 8, 3);
  std::vector<uint8_t> out(row_bytes(act_type, kCols * 8));
  for (auto _ : state) {
    quantize_activation_row(*k, act_type, x.data(), out.data(), kCols * 8);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kCols * 8 * 4);
}

void BM_Swiglu(benchmark::State& state, KernelIsa isa) {
  const KernelTable* k = kernel_table(isa);  // registered only where available
  auto g = gaussian(5632, 4);
  const auto u = gaussian(5632, 5);
  for (auto _ : state) {
    k->swiglu(g.data(), u.data(), 5632);
    benchmark::DoNotOptimize(g.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 5632 * 8);
}

int register_all() {
  const GgmlType types[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                            GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                            GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::F16,  GgmlType::BF16,
                            GgmlType::F32};
  for (KernelIsa isa : kAllKernelIsas) {
    const KernelTable* k = kernel_table(isa);
    if (!k) continue;
    const std::string name = k->name;
    const int max_threads = isa == best_kernel_isa() ? 2 : 1;
    for (GgmlType type : types)
      for (int threads = 1; threads <= max_threads; ++threads) {
        auto* b =
            benchmark::RegisterBenchmark(("gemm/" + name + "/" + std::string(type_name(type)) +
                                          "/threads:" + std::to_string(threads))
                                             .c_str(),
                                         BM_Gemm, isa, type, threads);
        // 1 token = decode's matrix-vector; 16 = a prefill tile.
        b->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
        if (isa == KernelIsa::Scalar) b->Iterations(1);
        if (isa == best_kernel_isa())
          benchmark::RegisterBenchmark(("gemm_dram/" + name + "/" + std::string(type_name(type)) +
                                        "/threads:" + std::to_string(threads))
                                           .c_str(),
                                       BM_GemmDram, isa, type, threads)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
      }
    for (GgmlType act : {GgmlType::Q8_0, GgmlType::Q8_K, GgmlType::F16})
      benchmark::RegisterBenchmark(("quantize/" + name + "/" + std::string(type_name(act))).c_str(),
                                   BM_QuantizeActivation, isa, act);
    benchmark::RegisterBenchmark(("swiglu/" + name).c_str(), BM_Swiglu, isa);
  }
  return 0;
}

const int registered = register_all();

}  // namespace
}  // namespace flashslim
