#include "bench/llama_bench.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>

#include "bench/provenance.h"
#include "bench/stats.h"
#include "core/error.h"
#include "kernels/kernel_table.h"
#include "kernels/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/quant_mix.h"
#include "runtime/weight_modes.h"

namespace flashslim::bench {

namespace {

constexpr ModelFileType kKnownFileTypes[] = {ModelFileType::F16, ModelFileType::Q8_0,
                                             ModelFileType::Q4_0, ModelFileType::Q4_K_M,
                                             ModelFileType::Q6_K};

// general.file_type's name, else the type holding most weight bytes.
std::string file_type_name(const gguf::File& file) {
  if (const auto ft = file.meta.get_uint("general.file_type"))
    for (ModelFileType t : kKnownFileTypes)
      if (model_file_type_info(t).llama_ftype == *ft) return model_file_type_info(t).name;
  std::map<GgmlType, uint64_t> bytes;
  for (const auto& t : file.tensors) bytes[t.type] += t.nbytes;
  GgmlType most = GgmlType::F32;
  for (const auto& [type, n] : bytes)
    if (n > bytes[most]) most = type;
  return std::string(type_name(most));
}

double now_ns() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

// As llama-bench: random token ids (fixed seed), never the vocabulary's edge.
std::vector<int32_t> random_tokens(int32_t n, int32_t n_vocab) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> dist(1, n_vocab - 1);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& id : ids) id = dist(rng);
  return ids;
}

// One timed run of a test; returns nanoseconds.
double run_once(Forward& forward, std::vector<float>& logits, const std::vector<int32_t>& prompt,
                const std::vector<int32_t>& gen) {
  forward.reset();
  const double start = now_ns();
  if (!prompt.empty()) forward.eval(prompt, logits, false);
  for (int32_t id : gen) forward.eval(std::span<const int32_t>(&id, 1), logits, false);
  return now_ns() - start;
}

}  // namespace

std::vector<LlamaBenchRecord> run_llama_bench(
    const LlamaBenchConfig& config, const std::function<void(const std::string&)>& progress) {
  if (config.repetitions < 1) fail("-r {}: need at least one repetition", config.repetitions);
  const Model model(config.model_path);
  const HParams& hp = model.hparams();
  const OpenedWeights weights = open_weights(model, parse_weight_mode(config.mode));
  const Provenance prov = collect_provenance();

  LlamaBenchRecord base;
  base.model_path = config.model_path;
  for (const auto& t : model.file().tensors) {
    base.model_bytes += t.nbytes;
    base.model_params += static_cast<uint64_t>(t.cols()) * static_cast<uint64_t>(t.rows());
  }
  base.model_name = fmt::format("{} {:.1f}B", hp.arch, base.model_params / 1e9);
  base.model_type = file_type_name(model.file());
  base.n_batch = config.n_batch;
  base.kv_type = config.kv_type;
  base.mode = config.mode;
  base.build_commit = prov.git_commit;
  base.cpu_info = prov.cpu_model;
  base.date = prov.date;

  struct Test {
    int32_t n_prompt, n_gen;
  };
  std::vector<Test> tests;
  for (int32_t p : config.n_prompt)
    if (p > 0) tests.push_back({p, 0});
  for (int32_t g : config.n_gen)
    if (g > 0) tests.push_back({0, g});

  std::vector<LlamaBenchRecord> records;
  std::vector<float> logits(static_cast<size_t>(hp.n_vocab));
  for (int32_t threads : config.threads) {
    ThreadPool pool(threads);
    for (const Test& test : tests) {
      LlamaBenchRecord rec = base;
      rec.threads = threads;
      rec.n_prompt = test.n_prompt;
      rec.n_gen = test.n_gen;
      rec.test =
          test.n_prompt > 0 ? fmt::format("pp{}", test.n_prompt) : fmt::format("tg{}", test.n_gen);
      rec.kernel_isa = kernel_isa_name();
      if (progress) progress(rec.test);
      ForwardOptions fo;
      fo.n_ctx = test.n_prompt + test.n_gen;
      fo.n_batch = std::max<int32_t>(1, std::min(config.n_batch, test.n_prompt));
      fo.kv_type = parse_kv_type(config.kv_type);
      if (fo.n_ctx > hp.n_ctx_train)
        fail("test {} needs {} positions; the model allows {}", rec.test, fo.n_ctx, hp.n_ctx_train);
      Forward forward(model, *weights.access, pool, fo);
      const auto prompt = random_tokens(test.n_prompt, hp.n_vocab);
      const auto gen = random_tokens(test.n_gen, hp.n_vocab);
      run_once(forward, logits, prompt, gen);  // warm-up: page in weights, wake threads
      const int32_t n_tokens = test.n_prompt + test.n_gen;
      for (int32_t r = 0; r < config.repetitions; ++r) {
        const double ns = run_once(forward, logits, prompt, gen);
        rec.samples_ns.push_back(ns);
        rec.samples_ts.push_back(n_tokens * 1e9 / ns);
      }
      rec.avg_ts = mean(rec.samples_ts);
      rec.stddev_ts = sample_sd(rec.samples_ts);
      records.push_back(std::move(rec));
    }
  }
  return records;
}

BenchFormat parse_bench_format(const std::string& name) {
  if (name == "md") return BenchFormat::Markdown;
  if (name == "csv") return BenchFormat::Csv;
  if (name == "json") return BenchFormat::Json;
  if (name == "jsonl") return BenchFormat::Jsonl;
  fail("-o {}: expected md, csv, json or jsonl", name);
}

namespace {

nlohmann::json to_json(const LlamaBenchRecord& r) {
  return {{"build_commit", r.build_commit},
          {"cpu_info", r.cpu_info},
          {"kernel_isa", r.kernel_isa},
          {"model_filename", r.model_path},
          {"model_type", r.model_name + " " + r.model_type},
          {"model_size", r.model_bytes},
          {"model_n_params", r.model_params},
          {"n_batch", r.n_batch},
          {"n_threads", r.threads},
          {"type_k", r.kv_type},
          {"type_v", r.kv_type},
          {"mode", r.mode},
          {"n_prompt", r.n_prompt},
          {"n_gen", r.n_gen},
          {"test", r.test},
          {"test_time", r.date},
          {"avg_ns", mean(r.samples_ns)},
          {"stddev_ns", sample_sd(r.samples_ns)},
          {"avg_ts", r.avg_ts},
          {"stddev_ts", r.stddev_ts},
          {"samples_ns", r.samples_ns},
          {"samples_ts", r.samples_ts}};
}

std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) {
    if (!s.empty()) s += ';';
    s += fmt::format("{:.6g}", x);
  }
  return s;
}

}  // namespace

void write_records(std::ostream& out, const std::vector<LlamaBenchRecord>& records,
                   BenchFormat format) {
  switch (format) {
    case BenchFormat::Markdown:
      out << "| model | size | params | type | kernels | threads | test | t/s |\n"
          << "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: |\n";
      for (const auto& r : records)
        out << fmt::format("| {} | {:.2f} MiB | {:.2f} B | {} | {} | {} | {} | {:.2f} ± {:.2f} |\n",
                           r.model_name, r.model_bytes / 1048576.0, r.model_params / 1e9,
                           r.model_type, r.kernel_isa, r.threads, r.test, r.avg_ts, r.stddev_ts);
      out << "\nbuild: " << (records.empty() ? "" : records[0].build_commit) << "\n";
      return;
    case BenchFormat::Csv:
      out << "build_commit,cpu_info,kernel_isa,model_filename,model_type,model_size,model_n_params,"
             "n_batch,n_threads,type_k,mode,n_prompt,n_gen,test,test_time,avg_ns,stddev_ns,avg_ts,"
             "stddev_ts,samples_ns,samples_ts\n";
      for (const auto& r : records)
        out << fmt::format(
            "{},\"{}\",{},\"{}\",\"{} "
            "{}\",{},{},{},{},{},{},{},{},{},{},{:.0f},{:.0f},{:.6f},{:.6f},"
            "\"{}\",\"{}\"\n",
            r.build_commit, r.cpu_info, r.kernel_isa, r.model_path, r.model_name, r.model_type,
            r.model_bytes, r.model_params, r.n_batch, r.threads, r.kv_type, r.mode, r.n_prompt,
            r.n_gen, r.test, r.date, mean(r.samples_ns), sample_sd(r.samples_ns), r.avg_ts,
            r.stddev_ts, join(r.samples_ns), join(r.samples_ts));
      return;
    case BenchFormat::Json: {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& r : records) all.push_back(to_json(r));
      out << all.dump(2) << "\n";
      return;
    }
    case BenchFormat::Jsonl:
      for (const auto& r : records) out << to_json(r).dump() << "\n";
      return;
  }
}

}  // namespace flashslim::bench
