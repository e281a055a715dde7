#pragma once
// Keys and values of every past position, allocated once for the context.
// K is stored per position ([layer][pos][n_embd_kv]); V is stored transposed
// ([layer][n_embd_kv][n_ctx]) as ggml does without flash attention, so the
// attention-weighted sum over positions is one contiguous dot per output.
#include <cstdint>
#include <string_view>
#include <vector>

namespace flashslim {

enum class KvType { F16, F32 };
KvType parse_kv_type(std::string_view s);  // "f16" | "f32", Error otherwise

class KvCache {
 public:
  KvCache(KvType type, int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv);

  KvType type() const { return type_; }
  int32_t n_ctx() const { return n_ctx_; }
  static uint64_t bytes_needed(KvType type, int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv);

  // Stores n_embd_kv floats of key / value for (layer, pos), rounded to the cache type.
  void store(int32_t layer, int32_t pos, const float* k, const float* v);
  // Key row of (layer, pos), and the transposed value row of (layer, dim):
  // elements of the cache type (uint16_t f16 bits or float).
  const void* key(int32_t layer, int32_t pos) const;
  const void* value_row(int32_t layer, int32_t dim) const;

 private:
  size_t elem_bytes() const { return type_ == KvType::F16 ? 2 : 4; }
  KvType type_;
  int32_t n_layer_, n_ctx_, n_embd_kv_;
  std::vector<uint8_t> k_, v_;
};

}  // namespace flashslim
