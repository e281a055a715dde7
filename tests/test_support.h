#pragma once
// Shared helpers for tests that run models on the fixtures in ../shared/fixtures.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf/builtin_vocab.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "runtime/weight_modes.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace flashslim::test {

inline std::string fixture(const std::string& relative) {
  return std::string(FLASHSLIM_FIXTURES) + "/" + relative;
}

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

// Decodes standard base64 (the fixtures' last_prompt_logits) into floats.
inline std::vector<float> decode_base64_floats(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) continue;  // padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

// Greedy generation with logits recorded, as the fixtures' reference tool does
// (EOS ignored, prompt evaluated as one batch).
inline GenerationResult run_greedy(const std::string& model_path, const std::string& prompt,
                                   int n_predict, KvType kv_type,
                                   WeightMode mode = WeightMode::Resident, int threads = 2) {
  const Model model(model_path);
  const auto tokenizer = Tokenizer::from_gguf(model.file());
  const std::vector<int32_t> ids = tokenizer->encode(prompt, true);
  ForwardOptions fo;
  fo.n_ctx = std::min<int32_t>(model.hparams().n_ctx_train,
                               static_cast<int32_t>(ids.size()) + n_predict + 8);
  fo.kv_type = kv_type;
  fo.n_batch = static_cast<int32_t>(ids.size());
  ThreadPool pool(threads);
  OpenedWeights weights = open_weights(model, mode);
  Forward forward(model, *weights.access, pool, fo);
  SamplerParams sp;
  sp.temperature = 0;
  Sampler sampler(sp, model.hparams().n_vocab);
  GenerationOptions go;
  go.n_predict = n_predict;
  go.stop_at_end_of_generation = false;
  go.record_logits = true;
  return generate(
      forward, sampler, ids, go, [](int32_t) { return false; }, [](int32_t) {});
}

// Logits (n_vocab floats each) after every prompt position and after each of
// `forced` fed one token at a time, i.e. teacher-forced on a reference sequence.
inline std::vector<std::vector<float>> teacher_forced_logits(
    const std::string& model_path, const std::vector<int32_t>& prompt,
    const std::vector<int32_t>& forced, KvType kv_type, WeightMode mode = WeightMode::Resident) {
  const Model model(model_path);
  ForwardOptions fo;
  fo.n_ctx = static_cast<int32_t>(prompt.size() + forced.size()) + 1;
  fo.kv_type = kv_type;
  fo.n_batch = static_cast<int32_t>(prompt.size());
  ThreadPool pool(2);
  OpenedWeights weights = open_weights(model, mode);
  Forward forward(model, *weights.access, pool, fo);
  const size_t n_vocab = model.hparams().n_vocab;
  std::vector<float> all(prompt.size() * n_vocab);
  forward.eval(prompt, all, true);
  std::vector<std::vector<float>> out;
  for (size_t p = 0; p < prompt.size(); ++p)
    out.emplace_back(all.begin() + p * n_vocab, all.begin() + (p + 1) * n_vocab);
  std::vector<float> step(n_vocab);
  for (int32_t id : forced) {
    forward.eval({&id, 1}, step, false);
    out.push_back(step);
  }
  return out;
}

// Reference top-k rows come as [[id, logit], ...] or {"pos": p, "topk": [...]}.
inline const nlohmann::json& topk_row(const nlohmann::json& entry) {
  return entry.is_object() ? entry.at("topk") : entry;
}

// Largest |ours - reference| over the reference's top-k ids at one position.
inline double max_topk_diff(const nlohmann::json& ref_row, std::span<const float> all_logits) {
  double worst = 0;
  for (const auto& pair : topk_row(ref_row)) {
    const int id = pair.at(0).get<int>();
    worst = std::max(worst, std::abs(double(all_logits[id]) - pair.at(1).get<double>()));
  }
  return worst;
}

// Writes a Q8_0 model of `n_layer` layers (0.8 MB each; 8 layers: 6.7 MB) with a
// tokenizer to `path`. Its layers outweigh its head, so budgets where part of the weights
// must stream exist well apart from both minimums (the 2-layer fixtures are dominated by
// their tied head: stream mode's minimum is only 0.5 MiB below resident mode's).
inline void write_layer_heavy_model(const std::string& path, int n_layer) {
  SyntheticModelSpec spec;
  spec.preset = find_model_preset("test-tiny");
  spec.preset.n_layer = n_layer;
  spec.preset.n_ff = 768;
  spec.file_type = ModelFileType::Q8_0;
  spec.tokenizer = gguf::builtin_vocab_metadata(spec.preset.n_vocab);
  write_synthetic_model(spec, path, 1, 2, {});
}

struct CommandResult {
  int exit_code;
  std::string out;
};

// Runs the flashslim binary (FLASHSLIM_BIN) with `args`, shell-quoted by the
// caller; stderr is captured with stdout when merge_stderr, else discarded.
inline CommandResult run_flashslim(const std::string& args, bool merge_stderr = false) {
  const std::string cmd =
      std::string(FLASHSLIM_BIN) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace flashslim::test
