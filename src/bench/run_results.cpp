#include "bench/run_results.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include "bench/csv_rows.h"
#include "core/error.h"
#include "model/op_profile.h"

namespace flashslim::bench {
namespace {

constexpr std::string_view kRssCsvHeader = "time_s,rss_bytes";

namespace fs = std::filesystem;
using nlohmann::json;

int64_t int_field(const json& line, const char* key, const fs::path& path, size_t line_number,
                  std::optional<int64_t> fallback) {
  const auto it = line.find(key);
  if (it == line.end()) {
    if (fallback) return *fallback;
    fail("{}:{}: missing field \"{}\"", path.string(), line_number, key);
  }
  if (!it->is_number_integer())
    fail("{}:{}: field \"{}\" = {} is not an integer", path.string(), line_number, key, it->dump());
  return it->get<int64_t>();
}

// A CSV field: quoted when it holds a separator or a quote.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A JSON value as CSV text: strings bare, numbers as JSON prints them, null/absent empty.
std::string csv_value(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return csv_field(value.get<std::string>());
  return csv_field(value.dump());
}

// record[a][b]... or null when any step is missing.
const json& at_path(const json& record, std::initializer_list<const char*> keys) {
  static const json null_value;
  const json* node = &record;
  for (const char* key : keys) {
    if (!node->is_object()) return null_value;
    const auto it = node->find(key);
    if (it == node->end()) return null_value;
    node = &*it;
  }
  return *node;
}

// Calls fn(object, line number) for every non-empty line of a JSONL file; errors name the
// file (`what` when it cannot be opened) and the line.
void for_each_object_line(const fs::path& path, const char* what,
                          const std::function<void(const json&, size_t)>& fn) {
  std::ifstream in(path);
  if (!in) fail("cannot open {} {}", what, path.string());
  std::string text;
  for (size_t line_number = 1; std::getline(in, text); ++line_number) {
    if (text.empty()) continue;
    json line;
    try {
      line = json::parse(text);
    } catch (const json::parse_error& e) {
      fail("{}:{}: invalid JSON: {}", path.string(), line_number, e.what());
    }
    if (!line.is_object()) fail("{}:{}: expected a JSON object", path.string(), line_number);
    fn(line, line_number);
  }
}

}  // namespace

std::vector<TokenLogEntry> read_token_log(const fs::path& path) {
  std::vector<TokenLogEntry> entries;
  for_each_object_line(path, "token log", [&](const json& line, size_t line_number) {
    TokenLogEntry e;
    const auto phase = line.find("phase");
    if (phase == line.end() || !phase->is_string())
      fail("{}:{}: missing string field \"phase\"", path.string(), line_number);
    e.phase = phase->get<std::string>();
    if (e.phase != "prefill" && e.phase != "decode")
      fail("{}:{}: phase '{}' is neither prefill nor decode", path.string(), line_number, e.phase);
    e.i = int_field(line, "i", path, line_number, static_cast<int64_t>(entries.size()));
    e.pos = int_field(line, "pos", path, line_number, std::nullopt);
    e.n_tokens = int_field(line, "n_tokens", path, line_number, 1);
    e.token = int_field(line, "token", path, line_number, -1);
    e.t_start_us = int_field(line, "t_start_us", path, line_number, 0);
    e.latency_us = int_field(line, "latency_us", path, line_number, std::nullopt);
    e.stall_us = int_field(line, "stall_us", path, line_number, 0);
    e.bytes_read = int_field(line, "bytes_read", path, line_number, 0);
    e.io_busy_us = int_field(line, "io_busy_us", path, line_number, 0);
    e.major_faults = int_field(line, "major_faults", path, line_number, 0);
    entries.push_back(std::move(e));
  });
  return entries;
}

std::vector<double> decode_latencies_ms(std::span<const TokenLogEntry> entries) {
  std::vector<double> ms;
  for (const TokenLogEntry& e : entries)
    if (e.phase == "decode") ms.push_back(static_cast<double>(e.latency_us) / 1000.0);
  return ms;
}

json summarize_op_profile(const fs::path& path, std::span<const TokenLogEntry> token_log) {
  std::vector<double> decode_ms(kOpClassCount + 1), prefill_ms(kOpClassCount);  // + laps
  size_t decode_entries = 0;
  for_each_object_line(path, "op profile", [&](const json& line, size_t line_number) {
    const int64_t i = int_field(line, "i", path, line_number, std::nullopt);
    if (i < 0 || static_cast<size_t>(i) >= token_log.size())
      fail("{}:{}: entry {} is not in the token log ({} entries)", path.string(), line_number, i,
           token_log.size());
    const bool decode = token_log[i].phase == "decode";
    decode_entries += decode;
    for (size_t c = 0; c < kOpClassCount; ++c) {
      const std::string key = std::string(op_class_name(static_cast<OpClass>(c))) + "_ns";
      const double ms =
          static_cast<double>(int_field(line, key.c_str(), path, line_number, std::nullopt)) / 1e6;
      (decode ? decode_ms : prefill_ms)[c] += ms;
    }
    if (decode)
      decode_ms[kOpClassCount] +=
          static_cast<double>(int_field(line, "laps", path, line_number, std::nullopt));
  });
  json per_token = json::object(), prefill = json::object();
  double total = 0, prefill_total = 0;
  for (size_t c = 0; c < kOpClassCount; ++c) {
    const std::string name(op_class_name(static_cast<OpClass>(c)));
    const double ms = decode_entries ? decode_ms[c] / decode_entries : 0;
    per_token[name] = ms;
    total += ms;
    prefill[name] = prefill_ms[c];
    prefill_total += prefill_ms[c];
  }
  per_token["total"] = total;
  per_token["laps"] = decode_entries ? decode_ms[kOpClassCount] / decode_entries : 0;
  prefill["total"] = prefill_total;
  return {{"decode_tokens", decode_entries}, {"ms_per_token", per_token}, {"prefill_ms", prefill}};
}

json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open {}", path.string());
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    fail("{}: invalid JSON: {}", path.string(), e.what());
  }
}

void write_text_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) fail("cannot write {}", path.string());
}

void write_json_file(const fs::path& path, const json& value) {
  write_text_file(path, value.dump(2) + "\n");
}

void write_rss_csv(const fs::path& path, std::span<const RssSample> samples) {
  std::string text = std::string(kRssCsvHeader) + "\n";
  for (const RssSample& s : samples) text += fmt::format("{:.4f},{}\n", s.time_s, s.rss_bytes);
  write_text_file(path, text);
}

std::vector<RssSample> read_rss_csv(const fs::path& path) {
  std::vector<RssSample> samples;
  for_each_csv_row(path, kRssCsvHeader, [&](const std::vector<std::string_view>& f, size_t line) {
    samples.push_back(
        {csv_double(f[0], path, line, "time_s"), csv_u64(f[1], path, line, "rss_bytes")});
  });
  return samples;
}

fs::path run_directory(const fs::path& results_dir, size_t index) {
  return results_dir / "runs" / fmt::format("{:04}", index);
}

std::vector<json> read_run_records(const fs::path& results_dir) {
  const fs::path runs = results_dir / "runs";
  if (!fs::is_directory(runs))
    fail("{}: no runs/ directory (not a results directory?)", results_dir.string());
  std::vector<json> records;
  for (const fs::directory_entry& entry : fs::directory_iterator(runs)) {
    const fs::path file = entry.path() / "run.json";
    if (fs::exists(file)) records.push_back(read_json_file(file));
  }
  std::sort(records.begin(), records.end(), [](const json& a, const json& b) {
    return a.at("run").at("index").get<size_t>() < b.at("run").at("index").get<size_t>();
  });
  return records;
}

std::string runs_csv_header() {
  return "index,config_index,variant,model,mode,budget,budget_bytes,threads,ctx,prompt_tokens,"
         "gen_tokens,sampling,background_load,repetition,warmup,status,ttft_s,prompt_tps,"
         "decode_tps,p50_ms,p90_ms,p99_ms,max_ms,max_rss_bytes,cgroup_peak_bytes,major_faults,"
         "read_bytes,io_some_us,stall_s,wall_s";
}

std::string runs_csv_row(const json& r) {
  const json& run = r.at("run");
  const std::vector<const json*> values = {
      &run.at("index"),
      &run.at("config_index"),
      &run.at("variant"),
      &at_path(run, {"model", "label"}),
      &run.at("mode"),
      &run.at("budget"),
      &at_path(r, {"budget_bytes"}),
      &run.at("threads"),
      &run.at("ctx"),
      &run.at("prompt_tokens"),
      &run.at("gen_tokens"),
      &at_path(run, {"sampling", "name"}),
      &run.at("background_load"),
      &run.at("repetition"),
      &run.at("warmup"),
      &r.at("status"),
      &at_path(r, {"stats", "ttft_s"}),
      &at_path(r, {"stats", "prompt_tps"}),
      &at_path(r, {"stats", "decode_tps"}),
      &at_path(r, {"latency_ms", "p50"}),
      &at_path(r, {"latency_ms", "p90"}),
      &at_path(r, {"latency_ms", "p99"}),
      &at_path(r, {"latency_ms", "max"}),
      &at_path(r, {"max_rss_bytes"}),
      &at_path(r, {"cgroup", "peak_bytes"}),
      &at_path(r, {"major_faults"}),
      &at_path(r, {"read_bytes"}),
      &at_path(r, {"io_pressure", "some_us"}),
      &at_path(r, {"stats", "stall_s"}),
      &at_path(r, {"wall_s"}),
  };
  std::string row;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) row += ',';
    row += csv_value(*values[i]);
  }
  return row;
}

}  // namespace flashslim::bench
