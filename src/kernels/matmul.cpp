#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>

#include "core/error.h"
#include "gguf/tensor_class.h"
#include "kernels/kernel_table.h"

namespace flashslim {

size_t activation_scratch_bytes(int64_t n_tokens, int64_t cols) {
  // F32 activations (for F32 weights) are the largest per element.
  return static_cast<size_t>(n_tokens) * static_cast<size_t>(cols) * sizeof(float);
}

QuantizedActivations quantize_activations(GgmlType weight_type, const float* x, int64_t n_tokens,
                                          int64_t cols, std::span<uint8_t> scratch,
                                          ThreadPool& pool) {
  QuantizedActivations q;
  q.type = type_traits(weight_type).vec_dot_type;
  q.row_bytes = row_bytes(q.type, cols);
  q.n_tokens = n_tokens;
  q.cols = cols;
  q.data = scratch.data();
  if (q.row_bytes * static_cast<size_t>(n_tokens) > scratch.size())
    fail("internal: activation scratch of {} bytes is too small for {} x {}", scratch.size(),
         n_tokens, cols);
  const KernelTable& k = kernels();
  // One token's row is a few microseconds of work: only prefill splits it.
  auto convert = [&](int, int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      quantize_activation_row(k, q.type, x + t * cols, scratch.data() + t * q.row_bytes, cols);
  };
  if (n_tokens == 1)
    convert(0, 0, 1);
  else
    pool.parallel_for(n_tokens, convert);
  return q;
}

bool llama_cpp_repacks(const gguf::TensorInfo& t) {
  return t.type == GgmlType::Q4_0 && t.n_dims == 2 && t.ne[1] % 8 == 0 &&
         gguf::classify(t.name) != gguf::TensorClass::Embedding;
}

void matmul(const WeightView& w, const QuantizedActivations& xq, float* y, int64_t y_stride,
            ThreadPool& pool) {
  const TypeKernels& kernels_of_type = kernels().of(w.info->type);
  const GemmFn gemm =
      llama_cpp_repacks(*w.info) ? kernels_of_type.gemm_repacked : kernels_of_type.gemm;
  if (!gemm) fail("internal: no matrix kernel for tensor type {}", type_name(w.info->type));
  const size_t w_row_bytes = w.info->row_bytes();
  const int64_t cols = w.info->cols();
  for (int p = 0; p < w.n_parts; ++p) {
    const RowRange& part = w.parts[p];
    const int64_t n_rows = part.end - part.begin;
    // Chunks of rows handed out dynamically (threads on a shared machine do
    // not run at equal speed): ~16 chunks per thread, 8..64 rows each, a
    // multiple of 8 so the kernels' row tiles (4 or 8 rows) stay full. Each
    // chunk covers all tokens, so prefill reads its weight rows once per chunk.
    int64_t chunk = n_rows / (static_cast<int64_t>(pool.size()) * 16);
    chunk = std::clamp<int64_t>((chunk + 7) & ~int64_t{7}, 8, 64);
    const int64_t n_chunks = (n_rows + chunk - 1) / chunk;
    std::atomic<int64_t> next{0};
    pool.parallel_for(pool.size(), [&](int, int64_t, int64_t) {
      for (int64_t c = next.fetch_add(1, std::memory_order_relaxed); c < n_chunks;
           c = next.fetch_add(1, std::memory_order_relaxed)) {
        const int64_t r0 = c * chunk, r1 = std::min(n_rows, r0 + chunk);
        gemm(cols, r1 - r0, xq.n_tokens, part.data + r0 * w_row_bytes, w_row_bytes, xq.data,
             xq.row_bytes, y + part.begin + r0, y_stride);
      }
    });
  }
}

}  // namespace flashslim
