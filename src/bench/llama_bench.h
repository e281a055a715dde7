#pragma once
// Resident-model throughput in llama-bench's terms: for each thread count, a
// prompt-processing test ppN (N prompt tokens evaluated as one batch from an
// empty context) and a text-generation test tgN (N tokens decoded one at a
// time from an empty context), each run once as warm-up and then
// `repetitions` times. A configuration in, result records out; printers for
// llama-bench's markdown table, CSV, JSON and JSON lines.
//
// Reusable by an experiment runner: run_llama_bench() does no printing, and
// every record carries its configuration, raw samples and provenance.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace flashslim::bench {

struct LlamaBenchConfig {
  std::string model_path;
  std::vector<int32_t> n_prompt = {128};  // one pp test per value; 0 = none
  std::vector<int32_t> n_gen = {32};      // one tg test per value; 0 = none
  std::vector<int32_t> threads = {2};
  int32_t repetitions = 5;
  int32_t n_batch = 512;
  std::string kv_type = "f16";
  std::string mode = "resident";  // weight mode (runtime/weight_modes.h)
};

struct LlamaBenchRecord {
  // The model.
  std::string model_path;
  std::string model_name;    // "llama 1.1B" (architecture and parameter count)
  std::string model_type;    // file type: "Q4_0", "Q4_K_M", ...
  uint64_t model_bytes = 0;  // bytes of tensor data
  uint64_t model_params = 0;
  // The test.
  std::string test;  // "pp128", "tg32"
  int32_t n_prompt = 0, n_gen = 0;
  int32_t threads = 0;
  int32_t n_batch = 0;
  std::string kv_type, mode;
  std::string kernel_isa;  // kernel_isa_name()
  // Results: one sample per repetition.
  std::vector<double> samples_ns;
  std::vector<double> samples_ts;  // tokens / s
  double avg_ts = 0, stddev_ts = 0;
  // Provenance.
  std::string build_commit, cpu_info, date;
};

// Runs every test of the configuration. `progress` (may be empty) is told
// each test's name before it runs. Error if the model cannot be loaded.
std::vector<LlamaBenchRecord> run_llama_bench(
    const LlamaBenchConfig& config, const std::function<void(const std::string&)>& progress);

enum class BenchFormat { Markdown, Csv, Json, Jsonl };
BenchFormat parse_bench_format(const std::string& name);  // md | csv | json | jsonl
void write_records(std::ostream& out, const std::vector<LlamaBenchRecord>& records,
                   BenchFormat format);

}  // namespace flashslim::bench
