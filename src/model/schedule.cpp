#include "model/schedule.h"

#include <fmt/format.h>

#include "core/error.h"

namespace flashslim {

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::AttentionIn:
      return "attn_in";
    case StepKind::AttentionOut:
      return "attn_out";
    case StepKind::FfnIn:
      return "ffn_in";
    case StepKind::FfnOut:
      return "ffn_out";
    case StepKind::Head:
      return "head";
  }
  return "?";
}

std::string Step::name() const {
  return layer < 0 ? step_kind_name(kind) : fmt::format("blk.{}.{}", layer, step_kind_name(kind));
}

uint64_t Step::weight_bytes() const {
  uint64_t sum = 0;
  for (const auto* t : tensors)
    if (t) sum += t->nbytes;
  return sum;
}

namespace {

class TensorFinder {
 public:
  TensorFinder(const gguf::File& f) : f_(f) {}

  // A tensor of exactly `ne0 x ne1` (ne1 = 0 for vectors).
  const gguf::TensorInfo* get(const std::string& name, int64_t ne0, int64_t ne1,
                              bool required = true) const {
    const gguf::TensorInfo* t = f_.find_tensor(name);
    if (!t) {
      if (required) fail("{}: tensor '{}' is missing", f_.path, name);
      return nullptr;
    }
    const uint32_t dims = ne1 ? 2 : 1;
    if (t->n_dims != dims || t->ne[0] != ne0 || (ne1 && t->ne[1] != ne1))
      fail("{}: tensor '{}' has shape [{}, {}] ({} dims), expected [{}, {}]", f_.path, name,
           t->ne[0], t->ne[1], t->n_dims, ne0, ne1);
    if (!ne1 && t->type != GgmlType::F32)
      fail("{}: tensor '{}' is {}; norm and bias vectors must be F32", f_.path, name,
           type_name(t->type));
    if (!type_traits(t->type).vec_dot)
      fail("{}: tensor '{}' has type {}, which cannot be a weight", f_.path, name,
           type_name(t->type));
    return t;
  }

 private:
  const gguf::File& f_;
};

}  // namespace

Schedule build_schedule(const gguf::File& file, const HParams& hp) {
  const TensorFinder find(file);
  const bool bias_required = architecture_traits(hp.arch).requires_qkv_bias;
  const int64_t embd = hp.n_embd, kv = hp.n_embd_kv(), ff = hp.n_ff;
  Schedule s;
  s.token_embd = find.get("token_embd.weight", embd, hp.n_vocab);
  for (int32_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = fmt::format("blk.{}.", l);
    Step attn_in{StepKind::AttentionIn, l};
    attn_in.tensors[slot::kNorm] = find.get(p + "attn_norm.weight", embd, 0);
    attn_in.tensors[slot::kQ] = find.get(p + "attn_q.weight", embd, embd);
    attn_in.tensors[slot::kK] = find.get(p + "attn_k.weight", embd, kv);
    attn_in.tensors[slot::kV] = find.get(p + "attn_v.weight", embd, kv);
    attn_in.tensors[slot::kQBias] = find.get(p + "attn_q.bias", embd, 0, bias_required);
    attn_in.tensors[slot::kKBias] = find.get(p + "attn_k.bias", kv, 0, bias_required);
    attn_in.tensors[slot::kVBias] = find.get(p + "attn_v.bias", kv, 0, bias_required);
    s.steps.push_back(attn_in);

    Step attn_out{StepKind::AttentionOut, l};
    attn_out.tensors[slot::kOut] = find.get(p + "attn_output.weight", embd, embd);
    s.steps.push_back(attn_out);

    Step ffn_in{StepKind::FfnIn, l};
    ffn_in.tensors[slot::kNorm] = find.get(p + "ffn_norm.weight", embd, 0);
    ffn_in.tensors[slot::kGate] = find.get(p + "ffn_gate.weight", embd, ff);
    ffn_in.tensors[slot::kUp] = find.get(p + "ffn_up.weight", embd, ff);
    s.steps.push_back(ffn_in);

    Step ffn_out{StepKind::FfnOut, l};
    ffn_out.tensors[slot::kOut] = find.get(p + "ffn_down.weight", ff, embd);
    s.steps.push_back(ffn_out);
  }
  Step head{StepKind::Head, -1};
  head.tensors[slot::kNorm] = find.get("output_norm.weight", embd, 0);
  head.tensors[slot::kOutput] =
      hp.tied_embeddings ? s.token_embd : find.get("output.weight", embd, hp.n_vocab);
  s.steps.push_back(head);
  return s;
}

}  // namespace flashslim
