#pragma once
// GenerationResult as JSON with the field names of llama.cpp's reference runs
// in ../shared/fixtures (prompt_ids, prompt_topk, last_prompt_logits,
// generated_ids, gen_topk), so tests and tools compare them directly.
#include <nlohmann/json.hpp>

#include "model/generate.h"

namespace flashslim {

nlohmann::json generation_to_json(const GenerationResult& result);

}  // namespace flashslim
