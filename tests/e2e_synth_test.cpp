// The synthetic architecture fixtures (llama with GQA and tied embeddings in 12
// tensor types, qwen2 with q/k/v biases) against llama.cpp's outputs.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace flashslim::test {
namespace {

struct SynthCase {
  std::string ref_json;
  std::string file;
};

std::vector<SynthCase> synth_cases() {
  std::vector<SynthCase> cases;
  for (const char* ref :
       {"tiny-llama.ref.json", "tiny-llama-extra.ref.json", "tiny-qwen2.ref.json"}) {
    const nlohmann::json j = load_json(fixture(std::string("synth/") + ref));
    for (const auto& [family, fam] : j.at("families").items())
      for (const auto& [file, entry] : fam.at("files").items())
        if (entry.contains("runs")) cases.push_back({ref, file});
  }
  return cases;
}

class SynthFixture : public ::testing::TestWithParam<SynthCase> {};

TEST_P(SynthFixture, MatchesLlamaCpp) {
  const SynthCase& c = GetParam();
  const nlohmann::json j = load_json(fixture("synth/" + c.ref_json));
  const nlohmann::json* entry = nullptr;
  for (const auto& [family, fam] : j.at("families").items())
    if (fam.at("files").contains(c.file)) entry = &fam.at("files").at(c.file);
  ASSERT_NE(entry, nullptr);
  const std::string path = fixture("synth/" + c.file);
  const std::string type = entry->at("type").get<std::string>();
  const bool exact_type = type == "F16" || type == "F32";
  // Tolerances of the issue: within 0.05 at >= 95% of positions, 0.5 everywhere;
  // F16/F32 files within 1e-2 everywhere.
  const double tight = exact_type ? 1e-2 : 0.05, loose = exact_type ? 1e-2 : 0.5;

  for (const auto& run : entry->at("runs")) {
    const auto prompt = run.at("prompt_ids").get<std::vector<int32_t>>();
    const auto ref_gen = run.at("generated_ids").get<std::vector<int32_t>>();
    SCOPED_TRACE(c.file + " prompt '" + run.at("prompt").get<std::string>() + "'");

    // Tokenizer: the same prompt ids as llama.cpp.
    {
      const Model model(path);
      EXPECT_EQ(
          Tokenizer::from_gguf(model.file())->encode(run.at("prompt").get<std::string>(), true),
          prompt);
    }

    // Teacher-forced logits at every prompt position and generation step.
    const auto logits = teacher_forced_logits(path, prompt, ref_gen, KvType::F32);
    const auto& ptopk = run.at("prompt_topk");
    const auto& gtopk = run.at("gen_topk");
    // Per position (prompt positions, then generation steps 1..), the largest
    // top-k difference from the reference.
    std::vector<double> diffs;
    for (size_t p = 0; p < ptopk.size(); ++p) diffs.push_back(max_topk_diff(ptopk[p], logits[p]));
    for (size_t s = 1; s < gtopk.size(); ++s)
      diffs.push_back(max_topk_diff(gtopk[s], logits[prompt.size() - 1 + s]));
    const int positions = static_cast<int>(diffs.size());
    const int within_tight = static_cast<int>(
        std::count_if(diffs.begin(), diffs.end(), [&](double d) { return d <= tight; }));
    const double worst = *std::max_element(diffs.begin(), diffs.end());
    const size_t first_off =
        std::find_if(diffs.begin(), diffs.end(), [&](double d) { return d > tight; }) -
        diffs.begin();
    EXPECT_LE(worst, loose);
    EXPECT_GE(within_tight, 0.95 * positions) << "fewer than 95% of positions within " << tight;
    // All logits at the last prompt position.
    const auto ref_last =
        decode_base64_floats(run.at("last_prompt_logits").at("data").get<std::string>());
    ASSERT_EQ(ref_last.size(), logits[prompt.size() - 1].size());
    double last_worst = 0;
    for (size_t i = 0; i < ref_last.size(); ++i)
      last_worst =
          std::max(last_worst, std::abs(double(ref_last[i]) - logits[prompt.size() - 1][i]));
    EXPECT_LE(last_worst, loose);

    // Free-running greedy ids equal the reference up to the first step whose
    // reference top-1 margin is below the 0.5 tolerance.
    const GenerationResult ours = run_greedy(path, run.at("prompt").get<std::string>(),
                                             static_cast<int>(ref_gen.size()), KvType::F32);
    size_t robust = 0;
    while (robust < gtopk.size()) {
      const auto& row = topk_row(gtopk[robust]);
      if (row[0][1].get<double>() - row[1][1].get<double>() < 0.5) break;
      ++robust;
    }
    for (size_t s = 0; s < robust; ++s)
      ASSERT_EQ(ours.generated_ids[s], ref_gen[s]) << "step " << s;
    size_t common = 0;
    while (common < ref_gen.size() && ours.generated_ids[common] == ref_gen[common]) ++common;
    std::printf(
        "[ synth ] %-26s %-26s worst %.4f, %d/%d within %.2f (first beyond at %zu), "
        "greedy %zu/%zu (robust %zu)\n",
        c.file.c_str(), run.at("prompt").get<std::string>().c_str(), worst, within_tight, positions,
        tight, first_off, common, ref_gen.size(), robust);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFiles, SynthFixture, ::testing::ValuesIn(synth_cases()),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           for (char& ch : name)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace flashslim::test
