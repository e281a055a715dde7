// `flashslim run` as a user runs it: the reference text, logits JSON, errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "test_support.h"

namespace flashslim::test {
namespace {

using Result = CommandResult;

Result flashslim(const std::string& args, bool merge_stderr = false) {
  return run_flashslim(args, merge_stderr);
}

const std::string kF32 = fixture("aidreams260K/aidreams260K-f32.gguf");

TEST(CliRun, PrintsTheReferenceText) {
  const nlohmann::json ref = load_json(fixture("aidreams260K/reference_outputs.json"));
  const auto& run = ref.at("files").at("aidreams260K-f32.gguf").at("runs")[0];
  ASSERT_EQ(run.at("prompt"), "Once upon a time");
  const Result r = flashslim("run -m " + kF32 + " -p 'Once upon a time' -n 64 --temp 0");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, run.at("generated_text").get<std::string>() + "\n");
}

TEST(CliRun, LogitsOutHasTheReferenceFields) {
  const std::string path = testing::TempDir() + "/logits-" + std::to_string(::getpid()) + ".json";
  const Result r =
      flashslim("run -m " + kF32 + " -p 'The little dog' -n 8 --temp 0 --logits-out " + path);
  ASSERT_EQ(r.exit_code, 0);
  const nlohmann::json j = load_json(path);
  const nlohmann::json ref = load_json(fixture("aidreams260K/reference_outputs.json"));
  const auto& run = ref.at("files").at("aidreams260K-f32.gguf").at("runs")[1];
  EXPECT_EQ(j.at("prompt_ids"), run.at("prompt_ids"));
  EXPECT_EQ(j.at("prompt_topk").size(), run.at("prompt_ids").size());
  EXPECT_EQ(j.at("last_prompt_logits").size(), 512u);
  EXPECT_EQ(j.at("generated_ids").size(), 8u);
  EXPECT_EQ(j.at("gen_topk").size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(j["generated_ids"][i], run["generated_ids"][i]);
  std::filesystem::remove(path);
}

TEST(CliRun, SeededSamplingIsRepeatable) {
  const std::string args = "run -m " + kF32 + " -p 'Hello world' -n 24 --temp 0.9 -s 1234";
  const Result a = flashslim(args), b = flashslim(args);
  ASSERT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, flashslim("run -m " + kF32 + " -p 'Hello world' -n 24 --temp 0.9 -s 99").out);
}

// Each bad input: non-zero exit and one line naming what is wrong.
void expect_one_line_error(const std::string& args, const std::string& needle) {
  const Result r = flashslim(args, true);
  EXPECT_NE(r.exit_code, 0) << args;
  EXPECT_NE(r.out.find(needle), std::string::npos) << args << " gave: " << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << " gave: " << r.out;
}

TEST(CliRun, BadInputGivesOneLineErrors) {
  expect_one_line_error("run -m /nonexistent.gguf -p hi", "/nonexistent.gguf");
  expect_one_line_error("run -m " + fixture("README.md") + " -p hi", "magic");
  expect_one_line_error("run -m " + kF32 + " -p hi -c 100000", "at most 128");
  expect_one_line_error("run -m " + kF32 + " -p \"$(yes hello | head -200)\" -n 4",
                        "exceed the context");
  expect_one_line_error("run -m " + kF32 + " -p hi -t 0", "--threads");
  expect_one_line_error("run -m " + kF32 + " -p hi --temp abc", "--temp");
  expect_one_line_error("run -m " + kF32 + " -p hi --kv-type q4", "--kv-type");
  expect_one_line_error("run -m " + kF32 + " -p hi --mode teleport", "--mode");
  expect_one_line_error("run -m " + kF32, "--prompt");
  expect_one_line_error("run -m " + fixture("vocab/ggml-vocab-gpt-2.gguf") + " -p hi",
                        "unsupported architecture");
}

}  // namespace
}  // namespace flashslim::test
