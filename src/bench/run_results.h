#pragma once
// The files of a results directory (layout in docs/experiments.md): the per-token log a
// `flashslim run` child writes (tokens.jsonl), the harness's per-run record (run.json)
// and RSS samples (rss.csv), and the one-row-per-run table (runs.csv).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "bench/child_process.h"

namespace flashslim::bench {

// One line of `flashslim run --token-log`: one decoded token, or one prefill batch.
struct TokenLogEntry {
  int64_t i = 0;
  std::string phase;  // "prefill" or "decode"
  int64_t pos = 0;    // context position of the (first) token
  int64_t n_tokens = 1;
  int64_t token = -1;
  int64_t t_start_us = 0;  // since the run's monotonic origin
  int64_t latency_us = 0;  // forward pass + sampling
  int64_t stall_us = 0;    // of which waiting for weights
  int64_t bytes_read = 0;
  int64_t io_busy_us = 0;  // time with 1+ runtime reads in flight (sync, stream; else 0)
  int64_t major_faults = 0;
};

// Throws Error naming the file, line number and field on malformed lines.
std::vector<TokenLogEntry> read_token_log(const std::filesystem::path& path);
// Latency of each decode entry in ms, in log order (the per-token latency the seed 002
// criteria are about; prefill batches are excluded).
std::vector<double> decode_latencies_ms(std::span<const TokenLogEntry> entries);

// `flashslim run --op-profile` (one line per token-log entry, same index) →
// {"decode_tokens": N, "ms_per_token": mean ms per decode token per op class
// ({"weights": .., "norm_rope": .., ..., "total": .., "laps": ..}), "prefill_ms": ms per
// class over the prefill}. Throws Error naming the file and line
// on malformed lines.
nlohmann::json summarize_op_profile(const std::filesystem::path& path,
                                    std::span<const TokenLogEntry> token_log);

nlohmann::json read_json_file(const std::filesystem::path& path);
// Pretty-printed (2-space indent) with a trailing newline.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& value);
void write_text_file(const std::filesystem::path& path, const std::string& text);

// rss.csv: header "time_s,rss_bytes", one sample per line.
void write_rss_csv(const std::filesystem::path& path, std::span<const RssSample> samples);
std::vector<RssSample> read_rss_csv(const std::filesystem::path& path);

// RESULTS_DIR/runs/NNNN (NNNN = run index, 4 digits).
std::filesystem::path run_directory(const std::filesystem::path& results_dir, size_t index);
// Every runs/*/run.json of a results directory, ordered by run index.
std::vector<nlohmann::json> read_run_records(const std::filesystem::path& results_dir);

// runs.csv: the header line and one line for a run.json record (fields the run lacks,
// e.g. latencies of a failed run, are empty).
std::string runs_csv_header();
std::string runs_csv_row(const nlohmann::json& record);

}  // namespace flashslim::bench
