// Tokenizer conformance against llama.cpp: the vocab test sets in
// fixtures/vocab (.inp strings, .out ids without BOS) and the prompt ids in
// the model reference files (with BOS as the model asks).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace flashslim {
namespace {

const std::string kFixtures = FLASHSLIM_FIXTURES;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// .inp: strings each followed by "\n__ggml_vocab_test__\n"; .out: one line of
// space-separated ids per string (as llama.cpp's test-tokenizer-0 reads them).
std::vector<VocabCase> read_cases(const std::string& vocab_path) {
  const std::string inp = read_text(vocab_path + ".inp");
  const std::string out = read_text(vocab_path + ".out");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  for (size_t pos = 0; pos < inp.size();) {
    size_t next = inp.find(separator, pos);
    if (next == std::string::npos) next = inp.size();
    cases.push_back({inp.substr(pos, next - pos), {}});
    pos = next + separator.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (VocabCase& c : cases) {
    EXPECT_TRUE(std::getline(lines, line)) << vocab_path << ".out has fewer lines than cases";
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
  }
  return cases;
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

std::unique_ptr<Tokenizer> load(const std::string& path) {
  return Tokenizer::from_gguf(gguf::read_file(path));
}

class VocabConformance : public testing::TestWithParam<std::string> {};

TEST_P(VocabConformance, EveryCaseMatchesLlamaCpp) {
  const std::string path = kFixtures + "/vocab/ggml-vocab-" + GetParam() + ".gguf";
  const auto tok = load(path);
  const std::vector<VocabCase> cases = read_cases(path);
  ASSERT_EQ(cases.size(), 46u);
  size_t passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t> got = tok->encode(cases[i].text, /*add_special=*/false);
    if (got == cases[i].ids)
      ++passed;
    else
      ADD_FAILURE() << GetParam() << " case " << i << " '" << cases[i].text << "'\n  expected "
                    << join(cases[i].ids) << "\n  got      " << join(got);
  }
  std::printf("%s (%s): %zu/%zu cases pass\n", GetParam().c_str(), tok->kind().c_str(), passed,
              cases.size());
  EXPECT_EQ(passed, cases.size());
}

// Detokenizing the ids of every case gives back its text: exactly for
// byte-level BPE, and with SentencePiece's leading space for SPM.
TEST_P(VocabConformance, PiecesRoundTripToTheText) {
  const std::string path = kFixtures + "/vocab/ggml-vocab-" + GetParam() + ".gguf";
  const auto tok = load(path);
  const bool spm = tok->kind().starts_with("llama");
  for (const VocabCase& c : read_cases(path)) {
    std::string text;
    for (int32_t id : c.ids) text += tok->token_to_piece(id);
    const std::string expected = spm && !c.text.empty() ? " " + c.text : c.text;
    EXPECT_EQ(text, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, VocabConformance,
                         testing::Values("llama-spm", "gpt-2", "falcon", "deepseek-llm",
                                         "starcoder"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// Every run in a reference file: encode(prompt, add_special=true) == prompt_ids.
void expect_prompt_ids(const std::string& model_path, const nlohmann::json& runs) {
  const auto tok = load(model_path);
  ASSERT_FALSE(runs.empty()) << model_path;
  for (const auto& run : runs) {
    const std::string prompt = run.at("prompt");
    const auto expected = run.at("prompt_ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(prompt, /*add_special=*/true), expected) << model_path << ": " << prompt;
  }
}

TEST(ReferencePrompts, SynthModelsGetLlamaCppPromptIds) {
  for (const std::string family : {"tiny-llama", "tiny-qwen2"}) {
    const nlohmann::json ref =
        nlohmann::json::parse(read_text(kFixtures + "/synth/" + family + ".ref.json"));
    for (const auto& [file, entry] : ref.at("families").at(family).at("files").items())
      expect_prompt_ids(kFixtures + "/synth/" + file, entry.at("runs"));
  }
}

TEST(ReferencePrompts, Aidreams260KGetsLlamaCppPromptIds) {
  const nlohmann::json ref =
      nlohmann::json::parse(read_text(kFixtures + "/aidreams260K/reference_outputs.json"));
  for (const auto& [file, entry] : ref.at("files").items())
    expect_prompt_ids(kFixtures + "/aidreams260K/" + file, entry.at("runs"));
}

TEST(SpecialTokens, ControlTokensAreParsedOnlyWhenAsked) {
  const auto tok = load(kFixtures + "/vocab/ggml-vocab-llama-spm.gguf");
  const int32_t bos = tok->bos_id();
  const int32_t eos = tok->eos_id();
  std::vector<int32_t> expected = {bos};
  for (int32_t id : tok->encode("Hello", false)) expected.push_back(id);
  expected.push_back(eos);
  EXPECT_EQ(tok->encode("<s>Hello</s>", false, /*parse_special=*/true), expected);

  const std::vector<int32_t> literal = tok->encode("<s>Hello</s>", false, false);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), bos), 0);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), eos), 0);
  EXPECT_EQ(tok->token_to_piece(bos), "<s>");
  EXPECT_TRUE(tok->is_end_of_generation(eos));
  EXPECT_FALSE(tok->is_end_of_generation(bos));
}

TEST(SpecialTokens, BosFollowsTheVocabFlag) {
  const auto spm = load(kFixtures + "/vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_TRUE(spm->add_bos());
  EXPECT_EQ(spm->encode("Hi", true).front(), spm->bos_id());
  EXPECT_EQ(spm->encode("", true), std::vector<int32_t>{spm->bos_id()});
  const auto gpt2 = load(kFixtures + "/vocab/ggml-vocab-gpt-2.gguf");
  EXPECT_FALSE(gpt2->add_bos());
  EXPECT_EQ(gpt2->encode("Hi", true), gpt2->encode("Hi", false));
}

TEST(SpmPieces, ByteTokensGiveTheirByte) {
  const auto tok = load(kFixtures + "/vocab/ggml-vocab-llama-spm.gguf");
  // U+1F999 (a llama) is not in the vocab: four byte tokens <0xF0><0x9F><0xA6><0x99>.
  const std::vector<int32_t> ids = tok->encode("\xF0\x9F\xA6\x99", false);
  std::string bytes;
  for (int32_t id : ids) bytes += tok->token_to_piece(id);
  EXPECT_EQ(bytes, " \xF0\x9F\xA6\x99");
  EXPECT_GE(ids.size(), 5u);
}

TEST(Utf8Stream, HoldsASplitCharacterUntilItIsComplete) {
  Utf8Stream stream;
  // "a€b": € is E2 82 AC, split over three pushes.
  EXPECT_EQ(stream.push("a\xE2"), "a");
  EXPECT_EQ(stream.push("\x82"), "");
  EXPECT_EQ(stream.push("\xAC"
                        "b"),
            "\xE2\x82\xAC"
            "b");
  EXPECT_EQ(stream.flush(), "");
}

TEST(Utf8Stream, FlushReturnsAnIncompleteTail) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("x\xF0\x9F"), "x");
  EXPECT_EQ(stream.flush(), "\xF0\x9F");
  EXPECT_EQ(stream.push("ok"), "ok");
}

TEST(Utf8Stream, PassesInvalidBytesThrough) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("\x80\x80"), "\x80\x80");
  EXPECT_EQ(stream.push("\xFF"
                        "z"),
            "\xFF"
            "z");
}

}  // namespace
}  // namespace flashslim
