#include "model/generation_json.h"

namespace flashslim {

namespace {
nlohmann::json topk_json(const std::vector<TopK>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const TopK& row : rows) {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& [id, logit] : row) r.push_back({id, logit});
    out.push_back(std::move(r));
  }
  return out;
}
}  // namespace

nlohmann::json generation_to_json(const GenerationResult& result) {
  return {
      {"prompt_ids", result.prompt_ids},
      {"prompt_topk", topk_json(result.prompt_topk)},
      {"last_prompt_logits", result.last_prompt_logits},
      {"generated_ids", result.generated_ids},
      {"gen_topk", topk_json(result.gen_topk)},
  };
}

}  // namespace flashslim
