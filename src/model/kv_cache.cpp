#include "model/kv_cache.h"

#include <cstring>

#include "core/error.h"
#include "tensor/fp16.h"

namespace flashslim {

KvType parse_kv_type(std::string_view s) {
  if (s == "f16") return KvType::F16;
  if (s == "f32") return KvType::F32;
  fail("--kv-type '{}': expected f16 or f32", s);
}

uint64_t KvCache::bytes_needed(KvType type, int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv) {
  return 2ull * n_layer * n_ctx * n_embd_kv * (type == KvType::F16 ? 2 : 4);
}

KvCache::KvCache(KvType type, int32_t n_layer, int32_t n_ctx, int32_t n_embd_kv)
    : type_(type), n_layer_(n_layer), n_ctx_(n_ctx), n_embd_kv_(n_embd_kv) {
  const size_t bytes = bytes_needed(type, n_layer, n_ctx, n_embd_kv) / 2;
  k_.assign(bytes, 0);
  v_.assign(bytes, 0);
}

void KvCache::store(int32_t layer, int32_t pos, const float* k, const float* v) {
  const size_t layer_elems = static_cast<size_t>(n_ctx_) * n_embd_kv_;
  const size_t k_at = layer * layer_elems + static_cast<size_t>(pos) * n_embd_kv_;
  if (type_ == KvType::F32) {
    std::memcpy(reinterpret_cast<float*>(k_.data()) + k_at, k, n_embd_kv_ * sizeof(float));
    float* vt = reinterpret_cast<float*>(v_.data()) + layer * layer_elems + pos;
    for (int32_t d = 0; d < n_embd_kv_; ++d) vt[static_cast<size_t>(d) * n_ctx_] = v[d];
  } else {
    uint16_t* kd = reinterpret_cast<uint16_t*>(k_.data()) + k_at;
    for (int32_t d = 0; d < n_embd_kv_; ++d) kd[d] = fp32_to_fp16(k[d]);
    uint16_t* vt = reinterpret_cast<uint16_t*>(v_.data()) + layer * layer_elems + pos;
    for (int32_t d = 0; d < n_embd_kv_; ++d)
      vt[static_cast<size_t>(d) * n_ctx_] = fp32_to_fp16(v[d]);
  }
}

const void* KvCache::key(int32_t layer, int32_t pos) const {
  const size_t at = (static_cast<size_t>(layer) * n_ctx_ + pos) * n_embd_kv_;
  return k_.data() + at * elem_bytes();
}

const void* KvCache::value_row(int32_t layer, int32_t dim) const {
  const size_t at = (static_cast<size_t>(layer) * n_embd_kv_ + dim) * n_ctx_;
  return v_.data() + at * elem_bytes();
}

}  // namespace flashslim
