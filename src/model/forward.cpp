#include "model/forward.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/fp16.h"

namespace flashslim {

namespace {

// Dot products inside attention with an f16 cache, as ggml's vec_dot: both
// sides are f16 (the query / probabilities are rounded first). Runs the
// dispatched kernels (any n, not only multiples of the SIMD width).
float dot_f16(const KernelTable& k, const uint16_t* a, const uint16_t* b, int64_t n) {
  float out;
  k.of(GgmlType::F16).vec_dot(n, &out, a, b);
  return out;
}

const float* f32_data(const WeightView& w) {
  return reinterpret_cast<const float*>(w.parts[0].data);
}

}  // namespace

uint64_t Forward::memory_bytes(const HParams& hp, const ForwardOptions& opt, int n_threads) {
  const uint64_t b = opt.n_batch;
  const uint64_t floats =
      b * (3ull * hp.n_embd + 2ull * hp.n_embd_kv() + hp.n_embd + 2ull * hp.n_ff) +
      static_cast<uint64_t>(n_threads) * opt.n_ctx;
  const uint64_t halves = static_cast<uint64_t>(n_threads) * (opt.n_ctx + hp.head_dim);
  return floats * 4 + halves * 2 +
         activation_scratch_bytes(opt.n_batch, std::max(hp.n_ff, hp.n_embd)) +
         KvCache::bytes_needed(opt.kv_type, hp.n_layer, opt.n_ctx, hp.n_embd_kv());
}

Forward::Forward(const Model& model, WeightAccess& weights, ThreadPool& pool,
                 const ForwardOptions& opt)
    : model_(model),
      hp_(model.hparams()),
      weights_(weights),
      pool_(pool),
      opt_(opt),
      kv_(opt.kv_type, hp_.n_layer, opt.n_ctx, hp_.n_embd_kv()) {
  const size_t b = opt.n_batch;
  x_.resize(b * hp_.n_embd);
  xb_.resize(b * hp_.n_embd);
  q_.resize(b * hp_.n_embd);
  k_.resize(b * hp_.n_embd_kv());
  v_.resize(b * hp_.n_embd_kv());
  attn_.resize(b * hp_.n_embd);
  gate_.resize(b * hp_.n_ff);
  up_.resize(b * hp_.n_ff);
  act_scratch_.resize(activation_scratch_bytes(opt.n_batch, std::max(hp_.n_ff, hp_.n_embd)));
  scores_.resize(static_cast<size_t>(pool.size()) * opt.n_ctx);
  scores_f16_.resize(static_cast<size_t>(pool.size()) * opt.n_ctx);
  q_f16_.resize(static_cast<size_t>(pool.size()) * hp_.head_dim);
}

void Forward::eval(std::span<const int32_t> tokens, std::span<float> logits, bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return;
  if (n_past_ + n > opt_.n_ctx)
    fail("context overflow: {} tokens after {} already in a context of {}", n, n_past_, opt_.n_ctx);
  const size_t need = static_cast<size_t>(all_logits ? n : 1) * hp_.n_vocab;
  if (logits.size() < need)
    fail("internal: logits buffer of {} floats, need {}", logits.size(), need);
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= hp_.n_vocab)
      fail("token id {} at position {} is outside the vocabulary (0..{})", tokens[i], i,
           hp_.n_vocab - 1);
  for (int64_t start = 0; start < n; start += opt_.n_batch) {
    const int64_t count = std::min<int64_t>(opt_.n_batch, n - start);
    const bool last_chunk = start + count == n;
    if (!all_logits && !last_chunk) {
      eval_batch(tokens.subspan(start, count), nullptr, false);
    } else {
      float* out = all_logits ? logits.data() + start * hp_.n_vocab : logits.data();
      eval_batch(tokens.subspan(start, count), out, all_logits);
    }
  }
}

const QuantizedActivations& Forward::quantized(GgmlType weight_type, const float* x,
                                               int64_t n_tokens, int64_t cols) {
  if (act_source_ != x || act_.type != type_traits(weight_type).vec_dot_type ||
      act_.n_tokens != n_tokens || act_.cols != cols) {
    act_ = quantize_activations(weight_type, x, n_tokens, cols, act_scratch_, pool_);
    act_source_ = x;
  }
  return act_;
}

void Forward::eval_batch(std::span<const int32_t> tokens, float* logits, bool all_logits) {
  const int32_t n = static_cast<int32_t>(tokens.size());
  const int64_t embd = hp_.n_embd, kv = hp_.n_embd_kv(), ff = hp_.n_ff;
  const Schedule& schedule = model_.schedule();

  OpLap lap(opt_.op_profile);
  lap.next(OpClass::Weights);
  weights_.begin_pass(n);
  weights_.gather_rows(*schedule.token_embd, tokens, x_.data());

  int32_t step_index = 0;
  for (const Step& step : schedule.steps) {
    lap.next(OpClass::Weights);
    const StepWeights w = weights_.acquire(step_index);
    act_source_ = nullptr;  // inputs change between steps
    switch (step.kind) {
      case StepKind::AttentionIn: {
        lap.next(OpClass::NormRope);
        const float* norm = f32_data(w[slot::kNorm]);
        for (int32_t t = 0; t < n; ++t)
          ops::rms_norm(&x_[t * embd], norm, &xb_[t * embd], embd, hp_.rms_norm_eps);
        lap.next(OpClass::AttnProj);
        matmul(w[slot::kQ], quantized(w[slot::kQ].info->type, xb_.data(), n, embd), q_.data(), embd,
               pool_);
        matmul(w[slot::kK], quantized(w[slot::kK].info->type, xb_.data(), n, embd), k_.data(), kv,
               pool_);
        matmul(w[slot::kV], quantized(w[slot::kV].info->type, xb_.data(), n, embd), v_.data(), kv,
               pool_);
        lap.next(OpClass::NormRope);
        for (int32_t t = 0; t < n; ++t) {
          if (w[slot::kQBias].info) ops::add(&q_[t * embd], f32_data(w[slot::kQBias]), embd);
          if (w[slot::kKBias].info) ops::add(&k_[t * kv], f32_data(w[slot::kKBias]), kv);
          if (w[slot::kVBias].info) ops::add(&v_[t * kv], f32_data(w[slot::kVBias]), kv);
          const int32_t pos = n_past_ + t;
          ops::rope(&q_[t * embd], hp_.n_head, hp_.head_dim, pos, hp_.rope_freq_base,
                    hp_.rope_freq_scale, hp_.rope_style);
          ops::rope(&k_[t * kv], hp_.n_head_kv, hp_.head_dim, pos, hp_.rope_freq_base,
                    hp_.rope_freq_scale, hp_.rope_style);
          kv_.store(step.layer, pos, &k_[t * kv], &v_[t * kv]);
        }
        lap.next(OpClass::Attention);
        attention(step.layer, n);
        break;
      }
      case StepKind::AttentionOut: {
        lap.next(OpClass::AttnProj);
        const WeightView& wo = w[slot::kOut];
        matmul(wo, quantized(wo.info->type, attn_.data(), n, embd), xb_.data(), embd, pool_);
        lap.next(OpClass::NormRope);
        for (int32_t t = 0; t < n; ++t) ops::add(&x_[t * embd], &xb_[t * embd], embd);
        break;
      }
      case StepKind::FfnIn: {
        lap.next(OpClass::NormRope);
        const float* norm = f32_data(w[slot::kNorm]);
        for (int32_t t = 0; t < n; ++t)
          ops::rms_norm(&x_[t * embd], norm, &xb_[t * embd], embd, hp_.rms_norm_eps);
        lap.next(OpClass::FfnProj);
        const WeightView& wg = w[slot::kGate];
        const WeightView& wu = w[slot::kUp];
        matmul(wg, quantized(wg.info->type, xb_.data(), n, embd), gate_.data(), ff, pool_);
        matmul(wu, quantized(wu.info->type, xb_.data(), n, embd), up_.data(), ff, pool_);
        lap.next(OpClass::NormRope);
        for (int32_t t = 0; t < n; ++t) ops::swiglu(&gate_[t * ff], &up_[t * ff], ff);
        break;
      }
      case StepKind::FfnOut: {
        lap.next(OpClass::FfnProj);
        const WeightView& wd = w[slot::kOut];
        matmul(wd, quantized(wd.info->type, gate_.data(), n, ff), xb_.data(), embd, pool_);
        lap.next(OpClass::NormRope);
        for (int32_t t = 0; t < n; ++t) ops::add(&x_[t * embd], &xb_[t * embd], embd);
        break;
      }
      case StepKind::Head: {
        if (!logits) break;  // a prefill chunk whose logits nobody reads
        // Only the rows whose logits are wanted go through the head.
        const int32_t first = all_logits ? 0 : n - 1;
        const int32_t rows = n - first;
        lap.next(OpClass::NormRope);
        const float* norm = f32_data(w[slot::kNorm]);
        for (int32_t t = 0; t < rows; ++t)
          ops::rms_norm(&x_[(first + t) * embd], norm, &xb_[t * embd], embd, hp_.rms_norm_eps);
        lap.next(OpClass::Head);
        const WeightView& wout = w[slot::kOutput];
        matmul(wout, quantized(wout.info->type, xb_.data(), rows, embd), logits, hp_.n_vocab,
               pool_);
        break;
      }
    }
    lap.next(OpClass::Weights);
    weights_.release(step_index);
    ++step_index;
  }
  weights_.end_pass();
  n_past_ += n;
}

void Forward::attention(int32_t layer, int32_t n_tokens) {
  const int32_t hd = hp_.head_dim, n_head = hp_.n_head, group = hp_.n_head / hp_.n_head_kv;
  const int64_t embd = hp_.n_embd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = kv_.type() == KvType::F16;
  const KernelTable& k = kernels();
  pool_.parallel_for(static_cast<int64_t>(n_tokens) * n_head, [&](int thread, int64_t begin,
                                                                  int64_t end) {
    float* scores = &scores_[static_cast<size_t>(thread) * opt_.n_ctx];
    uint16_t* scores16 = &scores_f16_[static_cast<size_t>(thread) * opt_.n_ctx];
    uint16_t* q16 = &q_f16_[static_cast<size_t>(thread) * hd];
    for (int64_t job = begin; job < end; ++job) {
      const int32_t t = static_cast<int32_t>(job / n_head), h = static_cast<int32_t>(job % n_head);
      const int32_t kvh = h / group;
      const int32_t n_pos = n_past_ + t + 1;  // causal: positions 0..pos
      const float* q = &q_[t * embd + h * hd];
      if (f16) {
        k.quantize_f16(q, q16, hd);
        for (int32_t p = 0; p < n_pos; ++p)
          scores[p] =
              dot_f16(k, q16, static_cast<const uint16_t*>(kv_.key(layer, p)) + kvh * hd, hd);
      } else {
        for (int32_t p = 0; p < n_pos; ++p)
          scores[p] =
              ops::dot_f32_rows(static_cast<const float*>(kv_.key(layer, p)) + kvh * hd, q, hd, hd);
      }
      ops::softmax(scores, n_pos, scale);
      float* out = &attn_[t * embd + h * hd];
      if (f16) {
        k.quantize_f16(scores, scores16, n_pos);
        for (int32_t d = 0; d < hd; ++d)
          out[d] = dot_f16(k, scores16,
                           static_cast<const uint16_t*>(kv_.value_row(layer, kvh * hd + d)), n_pos);
      } else {
        // llama.cpp's KQ·V: tinyBLAS for a batch, ggml_vec_dot_f32 over the
        // cache view (padded to 32 cells) for one token.
        const int32_t n_view = (n_pos + 31) / 32 * 32;
        for (int32_t d = 0; d < hd; ++d) {
          const float* v = static_cast<const float*>(kv_.value_row(layer, kvh * hd + d));
          out[d] = n_tokens > 1 ? ops::dot_f32_tiles(v, scores, n_pos)
                                : ops::dot_f32_rows(v, scores, n_pos, n_view);
        }
      }
    }
  });
}

}  // namespace flashslim
