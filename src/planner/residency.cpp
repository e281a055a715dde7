#include "planner/residency.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "core/size.h"

namespace flashslim::planner {

std::vector<Matrix> schedule_matrices(const Model& model) {
  std::vector<Matrix> out;
  std::set<const gguf::TensorInfo*> seen;
  const auto& steps = model.schedule().steps;
  for (size_t s = 0; s < steps.size(); ++s)
    for (const gguf::TensorInfo* t : steps[s].tensors)
      if (t && t->n_dims == 2 && seen.insert(t).second)
        out.push_back(
            {t, static_cast<int32_t>(s), steps[s].layer,
             steps[s].kind == StepKind::AttentionIn || steps[s].kind == StepKind::AttentionOut});
  return out;
}

std::vector<const gguf::TensorInfo*> schedule_vectors(const Model& model) {
  std::vector<const gguf::TensorInfo*> out;
  for (const Step& step : model.schedule().steps)
    for (const gguf::TensorInfo* t : step.tensors)
      if (t && t->n_dims == 1) out.push_back(t);
  return out;
}

const char* flexible_order_name(FlexibleOrder order) {
  return order == FlexibleOrder::AttentionFirst ? "attention first" : "ffn first";
}

FlexibleOrder parse_flexible_order(const std::string& name) {
  if (name == "attention-first") return FlexibleOrder::AttentionFirst;
  if (name == "ffn-first") return FlexibleOrder::FfnFirst;
  fail("flexible order '{}': expected attention-first or ffn-first", name);
}

namespace {

uint64_t kept_bytes(const Matrix& m, int64_t rows) {
  return static_cast<uint64_t>(rows) * m.info->row_bytes();
}

// The same share of rows of every matrix in `members`, as large as fits
// `bytes`; returns the bytes used.
uint64_t keep_balanced(const std::vector<Matrix>& matrices, const std::vector<size_t>& members,
                       uint64_t bytes, std::vector<int64_t>& rows_kept, double& share) {
  auto used_at = [&](double f) {
    uint64_t sum = 0;
    for (size_t i : members)
      sum += kept_bytes(matrices[i], static_cast<int64_t>(f * matrices[i].info->rows()));
    return sum;
  };
  double lo = 0, hi = 1;
  if (used_at(1) <= bytes) {
    lo = 1;
  } else {
    for (int iter = 0; iter < 60; ++iter) {
      const double mid = (lo + hi) / 2;
      (used_at(mid) <= bytes ? lo : hi) = mid;
    }
  }
  share = lo;
  for (size_t i : members) rows_kept[i] = static_cast<int64_t>(lo * matrices[i].info->rows());
  return used_at(lo);
}

}  // namespace

Residency choose_residency(const std::vector<Matrix>& matrices, ResidencyPolicy policy,
                           FlexibleOrder order, uint64_t bytes) {
  Residency r;
  r.policy = policy;
  r.order = order;
  r.rows_kept.assign(matrices.size(), 0);
  switch (policy) {
    case ResidencyPolicy::Balanced: {
      std::vector<size_t> all(matrices.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] = i;
      double share = 0;
      r.matrix_bytes = keep_balanced(matrices, all, bytes, r.rows_kept, share);
      r.reason = fmt::format("balanced: {:.1f}% of the rows of every matrix resident", share * 100);
      break;
    }
    case ResidencyPolicy::Flexible: {
      // Groups in preservation order: the preferred class, the other, the head.
      std::vector<size_t> groups[3];
      for (size_t i = 0; i < matrices.size(); ++i) {
        const Matrix& m = matrices[i];
        const bool first =
            m.layer >= 0 && (m.attention == (order == FlexibleOrder::AttentionFirst));
        groups[m.layer < 0 ? 2 : first ? 0 : 1].push_back(i);
      }
      const char* names[3] = {order == FlexibleOrder::AttentionFirst ? "attention" : "ffn",
                              order == FlexibleOrder::AttentionFirst ? "ffn" : "attention", "head"};
      std::string kept;
      uint64_t left = bytes;
      for (int g = 0; g < 3 && left > 0; ++g) {
        double share = 0;
        const uint64_t used = keep_balanced(matrices, groups[g], left, r.rows_kept, share);
        if (used == 0) break;
        left -= used;
        r.matrix_bytes += used;
        kept += fmt::format("{}{} {:.1f}%", kept.empty() ? "" : ", ", names[g], share * 100);
        if (share < 1) break;
      }
      r.reason = fmt::format("flexible ({}): {}", flexible_order_name(order),
                             kept.empty() ? "nothing kept" : kept);
      break;
    }
    case ResidencyPolicy::Layers: {
      uint64_t left = bytes;
      int32_t whole_layers = 0;
      for (size_t i = 0; i < matrices.size() && left > 0; ++i) {
        const Matrix& m = matrices[i];
        const int64_t rows = std::min<int64_t>(m.info->rows(), left / m.info->row_bytes());
        r.rows_kept[i] = rows;
        left -= kept_bytes(m, rows);
        r.matrix_bytes += kept_bytes(m, rows);
        const bool layer_done = i + 1 == matrices.size() || matrices[i + 1].layer != m.layer;
        if (rows == m.info->rows() && layer_done && m.layer >= 0) whole_layers = m.layer + 1;
        if (rows < m.info->rows()) break;
      }
      r.reason = fmt::format("layers: first {} layers wholly resident, then part of the next",
                             whole_layers);
      break;
    }
  }
  return r;
}

void cap_streaming_at_layer_steps(const std::vector<Matrix>& matrices, Residency& r) {
  std::map<int32_t, uint64_t> streamed;  // by step
  for (size_t i = 0; i < matrices.size(); ++i)
    streamed[matrices[i].step] +=
        kept_bytes(matrices[i], matrices[i].info->rows() - r.rows_kept[i]);
  uint64_t layer_most = 0;
  for (const Matrix& m : matrices)
    if (m.layer >= 0) layer_most = std::max(layer_most, streamed[m.step]);
  uint64_t added = 0;
  for (size_t i = 0; i < matrices.size(); ++i) {
    uint64_t& step_bytes = streamed[matrices[i].step];
    if (matrices[i].layer >= 0 || step_bytes <= layer_most) continue;
    const uint64_t row_bytes = matrices[i].info->row_bytes();
    const int64_t extra = std::min<int64_t>(matrices[i].info->rows() - r.rows_kept[i],
                                            (step_bytes - layer_most + row_bytes - 1) / row_bytes);
    r.rows_kept[i] += extra;
    step_bytes -= std::min(step_bytes, extra * row_bytes);
    added += extra * row_bytes;
  }
  if (added == 0) return;
  r.matrix_bytes += added;
  r.reason +=
      fmt::format("; the head keeps {:.1f} MiB more so it streams no more than a layer step",
                  added / 1048576.0);
}

}  // namespace flashslim::planner
