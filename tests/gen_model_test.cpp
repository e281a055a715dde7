// gen-model: presets, llama-quantize's type mix, the built-in vocabulary, and
// the streamed file (read back, scales, determinism, CLI errors).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/builtin_vocab.h"
#include "gguf/gguf.h"
#include "model/presets.h"
#include "model/quant_mix.h"
#include "model/synthetic_model.h"

namespace flashslim {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = FLASHSLIM_FIXTURES;

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("flashslim_gen_model_test_" + std::to_string(getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

SyntheticModelSpec builtin_spec(const ModelPreset& preset, ModelFileType type) {
  return {preset, type, gguf::builtin_vocab_metadata(preset.n_vocab)};
}

std::string write_test_tiny(const TempDir& dir, ModelFileType type, uint64_t seed, int threads) {
  const std::string path =
      dir.file(fmt::format("tiny-{}-{}-{}.gguf", model_file_type_info(type).name, seed, threads));
  write_synthetic_model(builtin_spec(find_model_preset("test-tiny"), type), path, seed, threads,
                        {});
  return path;
}

constexpr ModelFileType kAllTypes[] = {ModelFileType::F16, ModelFileType::Q8_0, ModelFileType::Q4_0,
                                       ModelFileType::Q4_K_M, ModelFileType::Q6_K};

// The fixtures' tiny-llama-*.gguf files were quantized by llama-quantize; a
// preset of their shape must get exactly their tensor names, shapes and types.
TEST(GenModel, TypeMixMatchesLlamaQuantizeOutput) {
  for (ModelFileType type : kAllTypes) {
    const char* name = model_file_type_info(type).name;
    SCOPED_TRACE(name);
    const gguf::File real =
        gguf::read_file(fmt::format("{}/synth/tiny-llama-{}.gguf", kFixtures, name));
    ModelPreset shape{.name = "fixture", .display_name = "fixture", .arch = "llama"};
    shape.n_vocab =
        static_cast<int32_t>(real.meta.get_string_array("tokenizer.ggml.tokens")->size());
    shape.n_embd = static_cast<int32_t>(*real.meta.get_uint("llama.embedding_length"));
    shape.n_layer = static_cast<int32_t>(*real.meta.get_uint("llama.block_count"));
    shape.n_head = static_cast<int32_t>(*real.meta.get_uint("llama.attention.head_count"));
    shape.n_head_kv = static_cast<int32_t>(*real.meta.get_uint("llama.attention.head_count_kv"));
    shape.n_ff = static_cast<int32_t>(*real.meta.get_uint("llama.feed_forward_length"));
    shape.tied_embeddings = real.find_tensor("output.weight") == nullptr;

    const std::vector<SyntheticTensor> planned = plan_synthetic_tensors(shape, type);
    EXPECT_EQ(planned.size(), real.tensors.size());
    for (const SyntheticTensor& t : planned) {
      const gguf::TensorInfo* r = real.find_tensor(t.name);
      ASSERT_NE(r, nullptr) << t.name;
      EXPECT_EQ(type_name(t.type), type_name(r->type)) << t.name;
      EXPECT_EQ(t.ne.size(), r->n_dims) << t.name;
      for (size_t d = 0; d < t.ne.size(); ++d) EXPECT_EQ(t.ne[d], r->ne[d]) << t.name;
    }
    EXPECT_EQ(*real.meta.get_uint("general.file_type"), model_file_type_info(type).llama_ftype);
  }
}

// Rows of 896 (Qwen2.5-0.5B) fit no 256-element block: llama-quantize falls
// back (Q4_K -> Q5_0, Q6_K -> Q8_0), and the tied head becomes Q8_0.
TEST(GenModel, TypeMixFallsBackForRowsThatFitNoSuperBlock) {
  const ModelPreset& qwen = find_model_preset("qwen2.5-0.5b");
  const auto type_of = [&](ModelFileType type, const std::string& name) {
    for (const SyntheticTensor& t : plan_synthetic_tensors(qwen, type)) {
      if (t.name == name) return t.type;
    }
    ADD_FAILURE() << "no tensor " << name;
    return GgmlType::F32;
  };
  EXPECT_EQ(type_of(ModelFileType::Q4_K_M, "token_embd.weight"), GgmlType::Q8_0);
  EXPECT_EQ(type_of(ModelFileType::Q4_K_M, "blk.5.attn_q.weight"), GgmlType::Q5_0);
  EXPECT_EQ(type_of(ModelFileType::Q4_K_M, "blk.6.ffn_down.weight"), GgmlType::Q4_K);  // 4864 fits
  EXPECT_EQ(type_of(ModelFileType::Q4_K_M, "blk.5.ffn_down.weight"),
            GgmlType::Q6_K);  // (5 - 3) % 3 == 2
  EXPECT_EQ(type_of(ModelFileType::Q4_K_M, "blk.0.ffn_down.weight"), GgmlType::Q6_K);
  EXPECT_EQ(type_of(ModelFileType::Q4_0, "token_embd.weight"), GgmlType::Q8_0);
  EXPECT_EQ(type_of(ModelFileType::Q4_0, "blk.5.attn_q.weight"), GgmlType::Q4_0);
  EXPECT_EQ(type_of(ModelFileType::Q6_K, "blk.5.attn_q.weight"), GgmlType::Q8_0);
  EXPECT_EQ(type_of(ModelFileType::Q4_K_M, "blk.5.attn_q.bias"), GgmlType::F32);
}

TEST(GenModel, PresetShapesAreConsistent) {
  for (const ModelPreset& p : model_presets()) {
    SCOPED_TRACE(std::string(p.name));
    EXPECT_EQ(p.n_embd % p.n_head, 0);
    EXPECT_EQ(p.n_head % p.n_head_kv, 0);
    EXPECT_TRUE(p.arch == "llama" || p.arch == "qwen2");
    EXPECT_EQ(p.qkv_bias, p.arch == "qwen2");
  }
  EXPECT_EQ(find_model_preset("llama3-8b").n_vocab, 128256);
  EXPECT_THROW(find_model_preset("llama9-1t"), Error);
  EXPECT_THROW(parse_model_file_type("Q3_K_XL"), Error);
  EXPECT_EQ(parse_model_file_type("q4_k_m"), ModelFileType::Q4_K_M);
}

TEST(GenModel, BuiltinVocabFillsTheSizeWithUniquePieces) {
  for (int32_t n_vocab : {1024, 32000}) {
    const auto entries = gguf::builtin_vocab_metadata(n_vocab);
    gguf::Metadata meta;
    for (const auto& [key, value] : entries) meta.add(key, value);
    const auto* tokens = meta.get_string_array("tokenizer.ggml.tokens");
    const auto* types = meta.get_int_array("tokenizer.ggml.token_type");
    const auto* scores = meta.get_float_array("tokenizer.ggml.scores");
    ASSERT_TRUE(tokens && types && scores);
    ASSERT_EQ(tokens->size(), static_cast<size_t>(n_vocab));
    EXPECT_EQ(types->size(), tokens->size());
    EXPECT_EQ(scores->size(), tokens->size());
    EXPECT_EQ(std::set<std::string>(tokens->begin(), tokens->end()).size(), tokens->size());
    EXPECT_EQ((*tokens)[1], "<s>");
    EXPECT_EQ((*tokens)[2], "</s>");
    EXPECT_EQ((*tokens)[3], "<0x00>");
    EXPECT_EQ((*tokens)[3 + 0x0A], "<0x0A>");
    EXPECT_EQ((*types)[3 + 0xFF], 6);  // BYTE
    EXPECT_EQ(*meta.get_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(*meta.get_uint("tokenizer.ggml.bos_token_id"), 1u);
    EXPECT_EQ(*meta.get_uint("tokenizer.ggml.eos_token_id"), 2u);
    EXPECT_TRUE(*meta.get_bool("tokenizer.ggml.add_bos_token"));
  }
  // Whole words and their prefixes are pieces, so merges can reach them.
  const auto entries = gguf::builtin_vocab_metadata(32000);
  const auto& tokens = entries[1].second.strings;
  const std::set<std::string> pieces(tokens.begin(), tokens.end());
  for (const char* piece :
       {"\u2581the", "\u2581th", "\u2581t", "\u2581Once", "\u2581upon", "ing"}) {
    EXPECT_TRUE(pieces.count(piece)) << piece;
  }
  EXPECT_THROW(gguf::builtin_vocab_metadata(100), Error);
}

TEST(GenModel, WrittenFileReadsBackAsPlanned) {
  const TempDir dir;
  const ModelPreset& preset = find_model_preset("test-tiny");
  for (ModelFileType type : kAllTypes) {
    SCOPED_TRACE(model_file_type_info(type).name);
    const std::string path = write_test_tiny(dir, type, 42, 2);
    const gguf::File file = gguf::read_file(path);
    EXPECT_EQ(file.architecture(), "llama");
    EXPECT_EQ(*file.meta.get_uint("llama.embedding_length"), 256u);
    EXPECT_EQ(*file.meta.get_uint("llama.block_count"), 2u);
    EXPECT_EQ(*file.meta.get_uint("llama.feed_forward_length"), 512u);
    EXPECT_EQ(*file.meta.get_uint("llama.attention.head_count"), 4u);
    EXPECT_EQ(*file.meta.get_uint("llama.attention.head_count_kv"), 2u);
    EXPECT_EQ(*file.meta.get_uint("llama.rope.dimension_count"), 64u);
    EXPECT_EQ(*file.meta.get_uint("llama.context_length"), 512u);
    EXPECT_FLOAT_EQ(static_cast<float>(*file.meta.get_float("llama.rope.freq_base")), 10000.0f);
    EXPECT_FLOAT_EQ(
        static_cast<float>(*file.meta.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
    EXPECT_EQ(*file.meta.get_uint("general.file_type"), model_file_type_info(type).llama_ftype);
    EXPECT_EQ(file.meta.get_string_array("tokenizer.ggml.tokens")->size(), 1024u);

    const std::vector<SyntheticTensor> planned = plan_synthetic_tensors(preset, type);
    ASSERT_EQ(file.tensors.size(), planned.size());
    uint64_t end_of_data = file.data_offset;
    for (size_t i = 0; i < planned.size(); ++i) {
      const gguf::TensorInfo& t = file.tensors[i];
      EXPECT_EQ(t.name, planned[i].name);
      EXPECT_EQ(t.type, planned[i].type) << t.name;
      ASSERT_EQ(t.n_dims, planned[i].ne.size()) << t.name;
      for (size_t d = 0; d < planned[i].ne.size(); ++d) EXPECT_EQ(t.ne[d], planned[i].ne[d]);
      EXPECT_EQ(t.nbytes, row_bytes(t.type, t.cols()) * static_cast<uint64_t>(t.rows()));
      end_of_data = t.offset + t.nbytes;
    }
    // The writer pads the data section to the alignment after every tensor.
    EXPECT_LE(end_of_data, file.file_size);
    EXPECT_LT(file.file_size - end_of_data, file.alignment);
  }
}

TEST(GenModel, Q4KMFileHasTheLlamaQuantizeMix) {
  const TempDir dir;
  const gguf::File file = gguf::read_file(write_test_tiny(dir, ModelFileType::Q4_K_M, 42, 2));
  // 2 layers: use_more_bits is false for layer 0, true for layer 1 (the last eighth).
  EXPECT_EQ(file.find_tensor("token_embd.weight")->type, GgmlType::Q4_K);
  EXPECT_EQ(file.find_tensor("output.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(file.find_tensor("blk.0.attn_v.weight")->type, GgmlType::Q4_K);
  EXPECT_EQ(file.find_tensor("blk.1.attn_v.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(file.find_tensor("blk.0.ffn_down.weight")->type, GgmlType::Q4_K);
  EXPECT_EQ(file.find_tensor("blk.1.ffn_down.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(file.find_tensor("blk.1.attn_q.weight")->type, GgmlType::Q4_K);
  EXPECT_EQ(file.find_tensor("blk.1.ffn_norm.weight")->type, GgmlType::F32);
}

// Dequantized weights have the planned mean and standard deviation.
TEST(GenModel, WeightsHaveThePlannedScale) {
  const TempDir dir;
  const std::string path = write_test_tiny(dir, ModelFileType::Q8_0, 7, 2);
  const gguf::File file = gguf::read_file(path);
  const std::vector<char> bytes = read_bytes(path);
  const ModelPreset& preset = find_model_preset("test-tiny");
  for (const SyntheticTensor& planned : plan_synthetic_tensors(preset, ModelFileType::Q8_0)) {
    if (planned.name != "blk.0.ffn_gate.weight" && planned.name != "blk.1.ffn_down.weight" &&
        planned.name != "blk.0.attn_norm.weight" && planned.name != "token_embd.weight") {
      continue;
    }
    SCOPED_TRACE(planned.name);
    const gguf::TensorInfo& t = *file.find_tensor(planned.name);
    std::vector<float> values(static_cast<size_t>(t.cols() * t.rows()));
    type_traits(t.type).to_float(bytes.data() + t.offset, values.data(),
                                 static_cast<int64_t>(values.size()));
    double sum = 0, sum_sq = 0;
    for (float v : values) sum += v;
    const double mean = sum / static_cast<double>(values.size());
    for (float v : values) sum_sq += (v - mean) * (v - mean);
    const double stddev = std::sqrt(sum_sq / static_cast<double>(values.size()));
    EXPECT_NEAR(mean, planned.mean, 0.1 * planned.stddev);
    EXPECT_NEAR(stddev, planned.stddev, 0.05 * planned.stddev);
  }
}

TEST(GenModel, SameSeedSameBytesWhateverTheThreadCount) {
  const TempDir dir;
  for (ModelFileType type : {ModelFileType::Q4_0, ModelFileType::Q4_K_M}) {
    SCOPED_TRACE(model_file_type_info(type).name);
    const std::vector<char> one_thread = read_bytes(write_test_tiny(dir, type, 42, 1));
    EXPECT_EQ(one_thread, read_bytes(write_test_tiny(dir, type, 42, 3)));
    EXPECT_NE(one_thread, read_bytes(write_test_tiny(dir, type, 43, 3)));
  }
}

struct CliResult {
  int exit_code;
  std::string stdout_text;
  std::string stderr_text;
};

CliResult run_cli(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout.txt");
  const std::string err = dir.file("stderr.txt");
  const std::string command = fmt::format("'{}' {} >'{}' 2>'{}'", FLASHSLIM_BIN, args, out, err);
  const int status = std::system(command.c_str());
  const std::vector<char> out_text = read_bytes(out);
  const std::vector<char> err_text = read_bytes(err);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          std::string(out_text.begin(), out_text.end()),
          std::string(err_text.begin(), err_text.end())};
}

size_t count_lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(GenModelCli, BadFlagsGiveOneLineErrors) {
  const TempDir dir;
  const std::string out = dir.file("x.gguf");
  for (const std::string& args :
       {fmt::format("gen-model --preset llama9-1t --type Q4_0 -o '{}'", out),
        fmt::format("gen-model --preset test-tiny --type Q3_K_XL -o '{}'", out),
        std::string("gen-model --preset test-tiny --type Q4_0 -o /nonexistent-dir/x.gguf"),
        fmt::format("gen-model --preset test-tiny --type Q4_0 -o '{}' --vocab /nonexistent.gguf",
                    out)}) {
    SCOPED_TRACE(args);
    const CliResult r = run_cli(dir, args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(count_lines(r.stderr_text), 1u) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("error"), std::string::npos) << r.stderr_text;
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(GenModelCli, VocabFromAnotherFileIsCopiedAndItsSizeAdopted) {
  const TempDir dir;
  const std::string vocab_path = kFixtures + "/vocab/ggml-vocab-llama-spm.gguf";
  const std::string out = dir.file("tiny-spm.gguf");
  const CliResult r =
      run_cli(dir, fmt::format("gen-model --preset test-tiny --type Q8_0 -o '{}' --vocab '{}' -t 2",
                               out, vocab_path));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("32000 tokens"), std::string::npos) << r.stderr_text;

  const gguf::File vocab = gguf::read_file(vocab_path);
  const gguf::File file = gguf::read_file(out);
  EXPECT_EQ(*file.meta.get_string_array("tokenizer.ggml.tokens"),
            *vocab.meta.get_string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(*file.meta.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(file.find_tensor("token_embd.weight")->ne[1], 32000);
  EXPECT_EQ(*file.meta.get_uint("llama.vocab_size"), 32000u);
}

// The end-to-end check: the file inspects with the preset's shapes and
// the engine generates from it with finite, spread-out logits.
TEST(GenModelCli, GeneratedModelInspectsAndRuns) {
  const TempDir dir;
  const std::string model = dir.file("tiny.gguf");
  ASSERT_EQ(run_cli(dir, fmt::format("gen-model --preset test-tiny --type Q4_K_M -o '{}'", model))
                .exit_code,
            0);

  const CliResult inspect = run_cli(dir, fmt::format("inspect -m '{}' --json", model));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.stderr_text;
  const auto info = nlohmann::json::parse(inspect.stdout_text);
  EXPECT_EQ(info["hyperparameters"]["embedding_length"], 256);
  EXPECT_EQ(info["hyperparameters"]["block_count"], 2);
  const std::vector<SyntheticTensor> planned =
      plan_synthetic_tensors(find_model_preset("test-tiny"), ModelFileType::Q4_K_M);
  ASSERT_EQ(info["tensors"].size(), planned.size());
  for (size_t i = 0; i < planned.size(); ++i) {
    EXPECT_EQ(info["tensors"][i]["name"], planned[i].name);
    EXPECT_EQ(info["tensors"][i]["type"], std::string(type_name(planned[i].type)));
    EXPECT_EQ(info["tensors"][i]["shape"].get<std::vector<int64_t>>(), planned[i].ne);
  }

  const std::string logits = dir.file("logits.json");
  const CliResult run =
      run_cli(dir, fmt::format("run -m '{}' -p 'Once upon a time' -n 8 --temp 0 --logits-out '{}'",
                               model, logits));
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  std::ifstream in(logits);
  const auto result = nlohmann::json::parse(in);
  EXPECT_EQ(result["generated_ids"].size(), 8u);
  const auto last = result["last_prompt_logits"].get<std::vector<float>>();
  ASSERT_EQ(last.size(), 1024u);
  double sum = 0, sum_sq = 0;
  for (float l : last) {
    ASSERT_TRUE(std::isfinite(l));
    sum += l;
    sum_sq += static_cast<double>(l) * l;
  }
  const double mean = sum / last.size();
  const double stddev = std::sqrt(sum_sq / last.size() - mean * mean);
  EXPECT_GT(stddev, 0.5);  // head gain 2: logits spread over a few units
  EXPECT_LT(stddev, 8.0);
}

}  // namespace
}  // namespace flashslim
