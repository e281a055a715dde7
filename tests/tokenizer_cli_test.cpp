// `flashslim tokenize` end to end: ids as llama.cpp computes them for the
// aidreams260K reference prompts, both output formats, and errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

const std::string kFixtures = FLASHSLIM_FIXTURES;
const std::string kModel = kFixtures + "/aidreams260K/aidreams260K-f32.gguf";

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result run(const std::string& args) {
  const std::string command = std::string(FLASHSLIM_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string python_list(const std::vector<int>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s + "]\n";
}

TEST(TokenizeCli, IdsMatchTheReferencePromptIds) {
  std::ifstream in(kFixtures + "/aidreams260K/reference_outputs.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  for (const auto& r : ref.at("files").at("aidreams260K-f32.gguf").at("runs")) {
    const std::string prompt = r.at("prompt");
    const Result result = run("tokenize -m " + kModel + " -p '" + prompt + "' --ids");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, python_list(r.at("prompt_ids").get<std::vector<int>>())) << prompt;
  }
}

TEST(TokenizeCli, DefaultOutputListsIdsAndPieces) {
  const Result result = run("tokenize -m " + kModel + " -p 'Hello world'");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.output.substr(0, result.output.find('\n') + 1), "     1 -> '<s>'\n");
  const Result no_bos = run("tokenize -m " + kModel + " -p 'Hello world' --no-bos");
  EXPECT_EQ(no_bos.output, result.output.substr(result.output.find('\n') + 1));
}

TEST(TokenizeCli, MissingFileIsAOneLineError) {
  const Result result = run("tokenize -m /nonexistent.gguf -p x");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("/nonexistent.gguf"), std::string::npos);
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1);
}

}  // namespace
