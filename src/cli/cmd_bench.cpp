// flashslim bench: resident-model prompt and generation throughput with
// llama-bench's conventions (tests ppN / tgN, mean ± sd over repetitions).
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bench/llama_bench.h"
#include "cli/commands.h"
#include "core/error.h"
#include "kernels/kernel_table.h"

namespace flashslim::cli {

namespace {

struct BenchFlags {
  bench::LlamaBenchConfig config;
  std::string output = "md";
  std::string output_file;
  std::string cpu_isa = "auto";
};

void run_bench(const BenchFlags& f) {
  const bench::BenchFormat format = bench::parse_bench_format(f.output);
  if (f.cpu_isa != "auto") select_kernel_isa(f.cpu_isa);
  const auto records = bench::run_llama_bench(f.config, [](const std::string& test) {
    std::fprintf(stderr, "flashslim bench: %s\n", test.c_str());
  });
  if (f.output_file.empty()) {
    bench::write_records(std::cout, records, format);
  } else {
    std::ofstream out(f.output_file);
    bench::write_records(out, records, format);
    if (!out) fail("--output-file {}: cannot write the file", f.output_file);
  }
}

}  // namespace

void register_bench_command(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  bench::LlamaBenchConfig& c = flags->config;
  CLI::App* cmd = app.add_subcommand(
      "bench", "Resident throughput: prompt (ppN) and generation (tgN) tests, as llama-bench");
  cmd->add_option("-m,--model", c.model_path, "GGUF model file")->required();
  cmd->add_option("-p,--n-prompt", c.n_prompt,
                  "Prompt tokens per pp test (comma list; 0 = no pp test)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-n,--n-gen", c.n_gen,
                  "Generated tokens per tg test (comma list; 0 = no tg test)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-t,--threads", c.threads, "Thread counts (comma list)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-r,--repetitions", c.repetitions, "Timed runs per test (after one warm-up)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("-b,--batch-size", c.n_batch, "Most prompt tokens per forward pass")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--kv-type", c.kv_type, "KV cache element type: f16 or f32")
      ->check(CLI::IsMember({"f16", "f32"}));
  cmd->add_option("--mode", c.mode, "How weights reach memory: resident or mmap");
  cmd->add_option("-o,--output", flags->output, "Output format: md, csv, json or jsonl")
      ->check(CLI::IsMember({"md", "csv", "json", "jsonl"}));
  cmd->add_option("--output-file", flags->output_file, "Write the results here instead of stdout");
  cmd->add_option("--cpu-isa", flags->cpu_isa,
                  "Kernels: auto, scalar, avx2, avx2+vnni, avx512 (FLASHSLIM_FORCE_SCALAR=1 also "
                  "forces scalar)");
  cmd->callback([flags] { run_bench(*flags); });
}

}  // namespace flashslim::cli
