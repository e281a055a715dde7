#include "kernels/matmul.h"

#include <algorithm>

#include "core/error.h"
#include "tensor/activation.h"

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
  pool.parallel_for(n_tokens, [&](int, int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      quantize_activation(q.type, x + t * cols, scratch.data() + t * q.row_bytes, cols);
  });
  return q;
}

void matmul(const WeightView& w, const QuantizedActivations& xq, float* y, int64_t y_stride,
            ThreadPool& pool) {
  const TypeTraits& traits = type_traits(w.info->type);
  const size_t w_row_bytes = w.info->row_bytes();
  const int64_t cols = w.info->cols();
  // Rows are processed in tiles so that, in prefill, a tile of weight rows stays
  // in cache while every token's activations pass over it.
  constexpr int64_t kTileRows = 16;
  for (int p = 0; p < w.n_parts; ++p) {
    const RowRange& part = w.parts[p];
    const int64_t n_rows = part.end - part.begin;
    const int64_t n_tiles = (n_rows + kTileRows - 1) / kTileRows;
    pool.parallel_for(n_tiles, [&](int, int64_t tile_begin, int64_t tile_end) {
      for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int64_t r0 = tile * kTileRows, r1 = std::min(n_rows, r0 + kTileRows);
        for (int64_t t = 0; t < xq.n_tokens; ++t) {
          const uint8_t* act = xq.data + t * xq.row_bytes;
          float* out = y + t * y_stride + part.begin;
          for (int64_t r = r0; r < r1; ++r)
            traits.vec_dot(cols, out + r, part.data + r * w_row_bytes, act);
        }
      }
    });
  }
}

}  // namespace flashslim
