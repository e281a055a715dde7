// flashslim gen-model: write a GGUF file of a known model's shapes with random
// weights (for benchmarks and demos), streaming it to disk.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "cli/commands.h"
#include "core/error.h"
#include "gguf/builtin_vocab.h"
#include "gguf/gguf.h"
#include "model/presets.h"
#include "model/quant_mix.h"
#include "model/synthetic_model.h"

namespace flashslim::cli {
namespace {

struct GenModelFlags {
  std::string preset;
  std::string type;
  std::string output;
  std::string vocab;
  uint64_t seed = 42;
  int32_t threads = 0;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr double kMB = 1e6;

// Copies every tokenizer.* key of `path`; the vocabulary size becomes the
// model's (token_embd/output rows), with a notice when it differs from the preset's.
void adopt_vocab(const std::string& path, SyntheticModelSpec& spec) {
  gguf::File file;
  try {
    file = gguf::read_file(path);
  } catch (const Error& e) {
    fail("--vocab: {}", e.what());
  }
  const std::vector<std::string>* tokens = file.meta.get_string_array("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) {
    fail("--vocab {}: no tokenizer.ggml.tokens string array", path);
  }
  for (const auto& [key, value] : file.meta.entries()) {
    if (key.starts_with("tokenizer.")) spec.tokenizer.emplace_back(key, value);
  }
  const auto n_vocab = static_cast<int32_t>(tokens->size());
  if (n_vocab != spec.preset.n_vocab) {
    std::fprintf(stderr,
                 "gen-model: %s has %d tokens; using that vocabulary size instead of %s's %d\n",
                 path.c_str(), n_vocab, std::string(spec.preset.name).c_str(), spec.preset.n_vocab);
    spec.preset.n_vocab = n_vocab;
  }
}

// One line on a terminal, redrawn in place: bar, percent, MB, MB/s, ETA.
class ProgressBar {
 public:
  ProgressBar() : enabled_(isatty(fileno(stderr)) != 0), start_(Clock::now()) {}

  void update(const WriteProgress& p) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const bool done = p.bytes_written == p.bytes_total;
    if (!done && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double fraction =
        p.bytes_total ? static_cast<double>(p.bytes_written) / p.bytes_total : 1.0;
    const double elapsed = seconds_since(start_);
    const double rate = elapsed > 0 ? p.bytes_written / elapsed : 0.0;
    const double eta = rate > 0 ? (p.bytes_total - p.bytes_written) / rate : 0.0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::fprintf(stderr, "\r[%s%s] %3d%%  %.1f/%.1f MB  %.1f MB/s  ETA %.0fs   ",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 static_cast<int>(fraction * 100), p.bytes_written / kMB, p.bytes_total / kMB,
                 rate / kMB, eta);
    if (done) std::fputc('\n', stderr);
  }

 private:
  bool enabled_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
};

void gen_model(const GenModelFlags& f) {
  SyntheticModelSpec spec;
  spec.preset = find_model_preset(f.preset);
  spec.file_type = parse_model_file_type(f.type);
  if (f.vocab.empty()) {
    spec.tokenizer = gguf::builtin_vocab_metadata(spec.preset.n_vocab);
  } else {
    adopt_vocab(f.vocab, spec);
  }
  if (f.threads < 0)
    fail("-t {}: thread count must be >= 0 (0: one per hardware thread)", f.threads);

  ProgressBar bar;
  uint64_t total_bytes = 0;
  const auto start = Clock::now();
  write_synthetic_model(spec, f.output, f.seed, f.threads, [&](const WriteProgress& p) {
    total_bytes = p.bytes_total;
    bar.update(p);
  });
  const double seconds = seconds_since(start);
  std::fprintf(
      stderr,
      "gen-model: wrote %s (%s %s, seed %llu): %.1f MB of tensor data in %.2f s (%.1f MB/s)\n",
      f.output.c_str(), std::string(spec.preset.name).c_str(),
      model_file_type_info(spec.file_type).name, static_cast<unsigned long long>(f.seed),
      total_bytes / kMB, seconds, seconds > 0 ? total_bytes / kMB / seconds : 0.0);
}

}  // namespace

void register_gen_model_command(CLI::App& app) {
  auto flags = std::make_shared<GenModelFlags>();
  CLI::App* cmd = app.add_subcommand(
      "gen-model", "Write a GGUF file of a known model's shapes with random weights");
  cmd->add_option("--preset", flags->preset, "Model shapes: " + model_preset_names())->required();
  cmd->add_option(
         "--type", flags->type,
         "File type: " + model_file_type_names() + " (tensor types mixed as llama-quantize does)")
      ->required();
  cmd->add_option("-o,--output", flags->output, "GGUF file to write")->required();
  cmd->add_option("--vocab", flags->vocab,
                  "Copy the tokenizer (all tokenizer.* keys) from this GGUF file. Without it a "
                  "built-in SentencePiece-style English vocabulary is embedded, for every preset "
                  "(the real Llama 3 and Qwen2.5 use byte-level BPE instead)");
  cmd->add_option("--seed", flags->seed, "Random seed; the file depends only on it")
      ->capture_default_str();
  cmd->add_option("-t,--threads", flags->threads, "Generation threads (0: one per hardware thread)")
      ->capture_default_str();
  cmd->callback([flags] { gen_model(*flags); });
}

}  // namespace flashslim::cli
