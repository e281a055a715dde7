// `flashslim inspect` end to end: text and JSON on a fixture, and the one-line
// error for a file that is not GGUF.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout, then stderr (2>&1 in the command)
};

Result run(const std::string& args) {
  const std::string cmd = std::string(FLASHSLIM_BIN) + " " + args;
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

const std::string kTinyLlama = std::string(FLASHSLIM_FIXTURES) + "/synth/tiny-llama-Q8_0.gguf";

TEST(CliInspect, TextShowsArchitectureTensorsAndTotals) {
  const Result r = run("inspect -m " + kTinyLlama);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("architecture: llama"), std::string::npos);
  EXPECT_NE(r.out.find("embedding_length"), std::string::npos);
  EXPECT_NE(r.out.find("attention.head_count_kv"), std::string::npos);
  EXPECT_NE(r.out.find("tokenizer: llama"), std::string::npos);
  EXPECT_NE(r.out.find("vocab 32000"), std::string::npos);
  EXPECT_NE(r.out.find("string[32000]"), std::string::npos);
  EXPECT_NE(r.out.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_NE(r.out.find("tensors (20)"), std::string::npos);
  EXPECT_NE(r.out.find("bytes per layer"), std::string::npos);
}

TEST(CliInspect, JsonTotalsAddUp) {
  const Result r = run("inspect -m " + kTinyLlama + " --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["hyperparameters"]["embedding_length"], 256);
  EXPECT_EQ(j["hyperparameters"]["block_count"], 2);
  EXPECT_EQ(j["hyperparameters"]["attention.head_count_kv"], 2);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 32000);
  ASSERT_EQ(j["tensors"].size(), 20u);

  uint64_t sum = 0, attention = 0, ffn = 0, embedding = 0, output = 0;
  std::map<int, uint64_t> per_layer;
  for (const auto& t : j["tensors"]) {
    const std::string name = t["name"];
    const uint64_t bytes = t["bytes"];
    sum += bytes;
    if (name.find(".attn_") != std::string::npos) attention += bytes;
    if (name.find(".ffn_") != std::string::npos) ffn += bytes;
    if (name.starts_with("token_embd")) embedding += bytes;
    if (name.starts_with("output")) output += bytes;
    if (name.starts_with("blk.")) per_layer[std::stoi(name.substr(4))] += bytes;
    if (name == "token_embd.weight") {
      EXPECT_EQ(t["type"], "Q8_0");
      EXPECT_EQ(t["shape"], nlohmann::json::parse("[256, 32000]"));
      EXPECT_EQ(bytes, 256u / 32 * 34 * 32000);
    }
  }
  const auto& totals = j["totals"];
  EXPECT_EQ(totals["bytes"], sum);
  EXPECT_EQ(totals["bytes_per_class"]["attention"], attention);
  EXPECT_EQ(totals["bytes_per_class"]["ffn"], ffn);
  EXPECT_EQ(totals["bytes_per_class"]["embedding"], embedding);
  EXPECT_EQ(totals["bytes_per_class"]["output"], output);  // only output_norm: tied embeddings
  ASSERT_EQ(totals["bytes_per_layer"].size(), 2u);
  EXPECT_EQ(totals["bytes_per_layer"][1]["bytes"], per_layer[1]);
}

TEST(CliInspect, NotAGgufFileIsAOneLineError) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("cli_inspect_test_not_gguf-" + std::to_string(::getpid()) + ".txt"))
                               .string();
  std::ofstream(path) << "this is not a model file\n";
  const Result r = run("inspect -m " + path + " 2>&1");
  std::filesystem::remove(path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bad magic"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(CliInspect, MissingFileIsAnError) {
  const Result r = run("inspect -m /nonexistent/model.gguf 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot open"), std::string::npos) << r.out;
}

}  // namespace
