// aidreams260K, a real trained model, against llama.cpp's greedy outputs.
#include <gtest/gtest.h>

#include "test_support.h"

namespace flashslim::test {
namespace {

const nlohmann::json& reference() {
  static const nlohmann::json j = load_json(fixture("aidreams260K/reference_outputs.json"));
  return j;
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

class AidreamsFile : public ::testing::TestWithParam<std::string> {};

TEST_P(AidreamsFile, GreedyMatchesReference) {
  const std::string file = GetParam();
  const bool is_f32 = file == "aidreams260K-f32.gguf";
  for (const auto& run : reference().at("files").at(file).at("runs")) {
    const std::string prompt = run.at("prompt").get<std::string>();
    const auto ref_ids = run.at("generated_ids").get<std::vector<int32_t>>();
    const GenerationResult ours = run_greedy(fixture("aidreams260K/" + file), prompt,
                                             static_cast<int>(ref_ids.size()), KvType::F16);
    EXPECT_EQ(ours.prompt_ids, run.at("prompt_ids").get<std::vector<int32_t>>());
    const size_t common = common_prefix(ours.generated_ids, ref_ids);
    std::printf("[ aidreams ] %-30s %-20s %zu/%zu generated ids match\n", file.c_str(),
                prompt.c_str(), common, ref_ids.size());
    // The bar: all 64 for f32, at least the first 16 for quantized files.
    EXPECT_GE(common, is_f32 ? ref_ids.size() : size_t{16}) << prompt;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFiles, AidreamsFile,
                         ::testing::Values("aidreams260K-f32.gguf", "aidreams260K-Q8_0-mixed.gguf",
                                           "aidreams260K-Q4_0-mixed.gguf", "aidreams260K-Q6_K.gguf",
                                           "aidreams260K-Q5_K_M.gguf", "aidreams260K-Q4_K_M.gguf"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

TEST(Aidreams, F32WithF32CacheMatchesLogits) {
  const auto& runs = reference().at("files").at("aidreams260K-f32.gguf").at("runs_kv_f32");
  for (const auto& run : runs) {
    const auto prompt = run.at("prompt_ids").get<std::vector<int32_t>>();
    const auto ref_gen = run.at("generated_ids").get<std::vector<int32_t>>();
    const auto logits = teacher_forced_logits(fixture("aidreams260K/aidreams260K-f32.gguf"), prompt,
                                              ref_gen, KvType::F32);
    double worst = 0;
    const auto& ptopk = run.at("prompt_topk");
    for (size_t p = 0; p < ptopk.size(); ++p)
      worst = std::max(worst, max_topk_diff(ptopk[p], logits[p]));
    const auto& gtopk = run.at("gen_topk");
    for (size_t s = 1; s < gtopk.size(); ++s)
      worst = std::max(worst, max_topk_diff(gtopk[s], logits[prompt.size() - 1 + s]));
    const auto ref_last = run.at("last_prompt_logits").get<std::vector<float>>();
    for (size_t i = 0; i < ref_last.size(); ++i)
      worst = std::max(worst, std::abs(double(ref_last[i]) - logits[prompt.size() - 1][i]));
    EXPECT_LE(worst, 1e-3) << run.at("prompt");
    const GenerationResult ours = run_greedy(fixture("aidreams260K/aidreams260K-f32.gguf"),
                                             run.at("prompt").get<std::string>(),
                                             static_cast<int>(ref_gen.size()), KvType::F32);
    EXPECT_EQ(ours.generated_ids, ref_gen);
  }
}

}  // namespace
}  // namespace flashslim::test
