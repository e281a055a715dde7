// flashslim run: generate text from a prompt, as llama.cpp's llama-cli does.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "kernels/kernel_table.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/generation_json.h"
#include "model/model.h"
#include "model/op_profile.h"
#include "cli/weight_flags.h"
#include "runtime/memory_budget.h"
#include "runtime/run_stats.h"
#include "runtime/weight_modes.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace flashslim::cli {

namespace {

struct RunFlags {
  std::string model_path;
  std::string prompt;
  int32_t n_predict = 128;
  int32_t threads = 0;
  int32_t n_ctx = 0;
  int32_t n_batch = 512;
  std::string kv_type = "f16";
  WeightFlags weights;
  std::string logits_out;
  std::string stats_json;
  std::string token_log;
  std::string op_profile;
  std::string phases;
  std::string cpu_isa = "auto";
  bool ignore_eos = false;
  SamplerParams sampling;
};

constexpr int32_t kDefaultMaxContext = 4096;  // as llama.cpp: the model's, capped

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void write_text_file(const std::string& path, const std::string& text, const char* flag) {
  std::ofstream out(path);
  out << text;
  if (!out) fail("{} {}: cannot write the file", flag, path);
}

void run(const RunFlags& f) {
  if (f.cpu_isa != "auto") select_kernel_isa(f.cpu_isa);
  WeightOptions weight_options = to_weight_options(f.weights);
  const auto load_start = std::chrono::steady_clock::now();
  const uint64_t origin_ns = storage::now_ns();
  const Model model(f.model_path);
  const HParams& hp = model.hparams();
  const auto tokenizer = Tokenizer::from_gguf(model.file());
  if (tokenizer->n_vocab() != hp.n_vocab)
    fail("{}: tokenizer has {} tokens but token_embd.weight has {} rows", f.model_path,
         tokenizer->n_vocab(), hp.n_vocab);
  // Measured here, where `profile` measures it: a plan assumes the profile's.
  const uint64_t baseline_bytes = baseline_rss_bytes();
  if (f.n_ctx > hp.n_ctx_train)
    fail("-c {}: the model allows at most {} tokens of context", f.n_ctx, hp.n_ctx_train);
  ForwardOptions fo;
  fo.n_ctx = f.n_ctx > 0 ? f.n_ctx : std::min(hp.n_ctx_train, kDefaultMaxContext);
  fo.n_batch = f.n_batch;
  fo.kv_type = parse_kv_type(f.kv_type);
  OpProfile op_profile;
  if (!f.op_profile.empty()) fo.op_profile = &op_profile;
  const std::vector<int32_t> prompt = tokenizer->encode(f.prompt, /*add_special=*/true);
  if (prompt.empty()) fail("-p: the prompt gives no tokens");
  if (static_cast<int64_t>(prompt.size()) + f.n_predict > fo.n_ctx)
    fail("-p: prompt of {} tokens + -n {} exceed the context of {} tokens (raise -c)",
         prompt.size(), f.n_predict, fo.n_ctx);
  fo.n_batch = std::min<int32_t>(fo.n_batch, std::max<int32_t>(1, static_cast<int32_t>(prompt.size())));

  const int threads = f.threads > 0 ? f.threads : static_cast<int>(std::thread::hardware_concurrency());
  apply_weight_plan(f.weights, model, {threads, fo.n_ctx, fo.n_batch, f.kv_type}, weight_options);
  ThreadPool pool(threads);
  GenerationOptions go;
  go.n_predict = f.n_predict;
  go.stop_at_end_of_generation = !f.ignore_eos;
  go.record_logits = !f.logits_out.empty();
  const MemoryBreakdown fixed =
      fixed_memory(model, fo, threads, go.record_logits ? static_cast<int64_t>(prompt.size()) : 1,
                   baseline_bytes);
  OpenedWeights weights = open_weights(model, weight_options, fixed);
  Forward forward(model, *weights.access, pool, fo);
  Sampler sampler(f.sampling, hp.n_vocab);
  const double load_ms = ms_since(load_start);

  // Token-log entries: counters sampled when each token is sampled, i.e.
  // between the forward passes.
  std::vector<TokenEntry> entries;
  TokenEntry prefill;
  prefill.prefill = true;
  prefill.n_tokens = static_cast<int32_t>(prompt.size());
  prefill.start = sample_counters(weights);
  // Cumulative op times at each token-log boundary (with --op-profile), and the time the
  // per-token counters themselves take (the harness's overhead, reported by --phases).
  std::vector<OpProfile> op_marks = {op_profile};
  uint64_t counters_ns = 0, counters_calls = 0;
  Utf8Stream text;
  const GenerationResult result = generate(
      forward, sampler, prompt, go,
      [&](int32_t id) { return tokenizer->is_end_of_generation(id); },
      [&](int32_t id) {
        const CounterSample now = sample_counters(weights);
        if (entries.empty()) {
          prefill.end = now;
          entries.push_back(prefill);
        } else {
          entries.back().end = now;
        }
        TokenEntry e;
        e.pos = static_cast<int32_t>(prompt.size() + entries.size() - 1);
        e.token = id;
        e.start = now;
        entries.push_back(e);
        if (fo.op_profile) op_marks.push_back(op_profile);
        counters_ns += storage::now_ns() - now.t_ns;
        ++counters_calls;
        const std::string out = text.push(tokenizer->token_to_piece(id));
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
      });
  const CounterSample end = sample_counters(weights);
  if (entries.empty()) {
    prefill.end = end;
    entries.push_back(prefill);
  } else {
    entries.back().end = end;
  }
  const std::string rest = text.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);

  double gen_ms = 0;
  for (double ms : result.token_ms) gen_ms += ms;
  const size_t n_gen = result.generated_ids.size();

  RunSummary summary;
  summary.mode = weight_mode_name(weights.mode);
  summary.budget_bytes = weights.budget_bytes;
  summary.threads = threads;
  summary.ctx = fo.n_ctx;
  summary.model_bytes = model.file().file_size;
  summary.load_s = load_ms / 1000;
  summary.prompt_tokens = static_cast<int64_t>(prompt.size());
  summary.prefill_s = result.prompt_ms / 1000;
  summary.ttft_s = (result.prompt_ms + (result.token_ms.empty() ? 0 : result.token_ms[0])) / 1000;
  summary.gen_tokens = static_cast<int64_t>(n_gen);
  summary.decode_passes = entries.size() > 2 ? static_cast<int64_t>(entries.size()) - 2 : 0;
  summary.decode_s = gen_ms / 1000;
  summary.decode_start = entries.size() > 1 ? entries[1].start : end;
  summary.decode_end = end;
  summary.total_bytes_read = end.bytes_read - entries[0].start.bytes_read;
  summary.weights = weights.access->stats();
  summary.peak_rss_bytes = peak_rss_bytes();
  summary.memory = weights.memory;
  std::fprintf(stderr,
               "\nflashslim: %s, %s, mode %s, %d threads, ctx %d, kv %s\n"
               "kernels:  %s\n"
               "load:     %10.2f ms\n"
               "prompt:   %10.2f ms / %zu tokens (%.2f t/s)\n"
               "generate: %10.2f ms / %zu tokens, %lld forward passes (%.2f t/s)\n",
               hp.arch.c_str(), tokenizer->kind().c_str(), weight_mode_name(weights.mode), threads,
               fo.n_ctx, f.kv_type.c_str(), kernel_isa_name(), load_ms, result.prompt_ms,
               prompt.size(), prompt.size() * 1000.0 / result.prompt_ms, gen_ms, n_gen,
               static_cast<long long>(summary.decode_passes), summary.decode_tps());
  std::fputs(run_summary_text(summary).c_str(), stderr);

  if (!f.stats_json.empty())
    write_text_file(f.stats_json, run_summary_json(summary).dump(2) + "\n", "--stats-json");
  // The last generated token is sampled but not evaluated: its entry holds no forward
  // pass, so the token log and op profile end with the last token that had one.
  const size_t logged = entries.size() > 1 ? entries.size() - 1 : entries.size();
  if (!f.token_log.empty()) {
    std::string lines;
    for (size_t i = 0; i < logged; ++i)
      lines += token_entry_json(entries[i], i, origin_ns).dump() + "\n";
    write_text_file(f.token_log, lines, "--token-log");
  }
  if (!f.op_profile.empty()) {
    op_marks.push_back(op_profile);
    std::string lines;
    for (size_t i = 0; i < logged; ++i)
      lines += op_times_json(op_marks[i], op_marks[i + 1], i).dump() + "\n";
    write_text_file(f.op_profile, lines, "--op-profile");
  }
  if (!f.phases.empty()) {
    const nlohmann::json phases = {
        {"clock", "CLOCK_MONOTONIC ns"},
        {"load_ns", origin_ns},
        {"prefill_ns", entries.front().start.t_ns},
        {"decode_ns", entries.size() > 1 ? entries[1].start.t_ns : end.t_ns},
        {"end_ns", end.t_ns},
        {"token_counters_ns", counters_ns},
        {"token_counters_calls", counters_calls}};
    write_text_file(f.phases, phases.dump(2) + "\n", "--phases");
  }
  if (!f.logits_out.empty()) {
    std::ofstream out(f.logits_out);
    out << generation_to_json(result).dump() << '\n';
    if (!out) fail("--logits-out {}: cannot write the file", f.logits_out);
  }
}

}  // namespace

void register_run_command(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt");
  cmd->add_option("-m,--model", flags->model_path, "GGUF model file")->required();
  cmd->add_option("-p,--prompt", flags->prompt, "Prompt text")->required();
  cmd->add_option("-n,--n-predict", flags->n_predict, "Tokens to generate")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("-t,--threads", flags->threads, "Compute threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-c,--ctx-size", flags->n_ctx, "Context size in tokens (default: model's, at most 4096)")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("-b,--batch-size", flags->n_batch, "Most prompt tokens evaluated per pass")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--kv-type", flags->kv_type, "KV cache element type: f16 or f32")
      ->check(CLI::IsMember({"f16", "f32"}));
  add_weight_flags(*cmd, flags->weights);
  cmd->add_option("--stats-json", flags->stats_json,
                  "Write the run's statistics as JSON (fields: docs/experiments.md)");
  cmd->add_option("--token-log", flags->token_log,
                  "Write per-token latency, stall, bytes read and faults as JSONL");
  cmd->add_option("--op-profile", flags->op_profile,
                  "Time the forward pass per op class; write the times per token as JSONL");
  cmd->add_option("--phases", flags->phases,
                  "Write the monotonic-clock times of load, prefill, decode and end, and the "
                  "cost of the per-token counters, as JSON");
  cmd->add_option("--temp", flags->sampling.temperature, "Temperature; 0 = greedy")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-k", flags->sampling.top_k, "Top-k sampling (0 = off)")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--top-p", flags->sampling.top_p, "Top-p sampling (1 = off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-p", flags->sampling.min_p, "Min-p sampling (0 = off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repeat-penalty", flags->sampling.repeat_penalty, "Repeat penalty (1 = off)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--repeat-last-n", flags->sampling.repeat_last_n, "Tokens the penalty looks back over")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("-s,--seed", flags->sampling.seed, "Random seed (default: random)");
  cmd->add_flag("--ignore-eos", flags->ignore_eos, "Keep generating after an end-of-generation token");
  cmd->add_option("--logits-out", flags->logits_out,
                  "Write prompt/generation logits as JSON (fields as the fixtures' reference runs)");
  cmd->add_option("--cpu-isa", flags->cpu_isa,
                  "Kernels: auto, scalar, avx2, avx2+vnni, avx512 (FLASHSLIM_FORCE_SCALAR=1 also forces scalar)");
  cmd->callback([flags] { run(*flags); });
}

}  // namespace flashslim::cli
