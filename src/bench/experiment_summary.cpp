#include "bench/experiment_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "bench/run_activity.h"
#include "bench/run_results.h"
#include "bench/stats.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Seed 002's thresholds (its "Success Criteria" table) and the harness issue's targets
// for stream mode.
constexpr double kSeedCvP99 = 0.15;
constexpr double kSeedCvPeakRss = 0.05;
constexpr double kSeedSamplingCvSpread = 0.05;  // 5 percentage points of CV
// "Close to linear": the line fit explains most of the variation, or the curve is so
// flat that no point is more than this far from the line (noise dominates R² then).
constexpr double kLinearR2 = 0.9;
constexpr double kLinearMaxResidual = 0.05;  // of the mean latency
constexpr double kStreamP99OverP50 = 1.15;
constexpr double kStreamCvP99 = 0.10;
constexpr double kStreamCvPeakRss = 0.02;
constexpr double kHarnessOverhead = 0.01;  // per-token counters, of the generation time

json mean_sd(const std::vector<double>& values) {
  if (values.empty()) return nullptr;
  return {{"mean", mean(values)}, {"sd", sample_sd(values)}, {"n", values.size()}};
}

json summary_json(const Summary& s) {
  return {{"count", s.count}, {"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"sd", s.sd},
          {"cv", s.cv},       {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

// CV when there are two values or more and a non-zero mean, else null.
json cv_of(const std::vector<double>& values) {
  if (values.size() < 2 || mean(values) == 0) return nullptr;
  return coefficient_of_variation(values);
}

std::optional<double> number_at(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The RunSpec fields that define a configuration (not which run of it this is).
json configuration_of(const json& run) {
  json c = run;
  for (const char* key : {"index", "repetition", "warmup"}) c.erase(key);
  return c;
}

// Objects of the same shape → one object with the mean of each number (nested objects
// recursively, other values dropped), e.g. the op times per token of several runs.
json mean_of_objects(const std::vector<json>& objects) {
  if (objects.empty()) return nullptr;
  json out = json::object();
  for (const auto& [key, value] : objects.front().items()) {
    if (value.is_object()) {
      std::vector<json> children;
      for (const json& o : objects)
        if (o.contains(key) && o[key].is_object()) children.push_back(o[key]);
      out[key] = mean_of_objects(children);
    } else if (value.is_number()) {
      std::vector<double> numbers;
      for (const json& o : objects)
        if (auto v = number_at(o, key.c_str())) numbers.push_back(*v);
      out[key] = mean(numbers);
    }
  }
  return out;
}

// The means over a configuration's successful runs of their profiles: the harness's
// per-token overhead (fraction of the generation time), the CPU the harness spent
// sampling the run (share of one CPU over the run's wall time), op times per decode token, the
// threads' and disk's activity over the decode phase, and the trace per phase (null where
// no run has one).
void add_profile_means(const std::vector<const json*>& runs, json& out) {
  std::vector<double> overhead, sampler;
  std::vector<json> ops, activities, traces;
  std::string trace_skipped;
  for (const json* r : runs) {
    if (r->at("status") != "ok") continue;
    if (auto v = number_at(r->value("harness_overhead", json()), "fraction_of_generation"))
      overhead.push_back(*v);
    const auto sampler_cpu_s = number_at(*r, "sampler_cpu_s");
    const auto wall_s = number_at(*r, "wall_s");
    if (sampler_cpu_s && wall_s && *wall_s > 0) sampler.push_back(*sampler_cpu_s / *wall_s);
    if (r->contains("op_profile") && r->at("op_profile").is_object())
      ops.push_back(r->at("op_profile"));
    if (r->contains("activity_decode") && r->at("activity_decode").is_object())
      activities.push_back(r->at("activity_decode"));
    const json trace = r->value("trace", json());
    if (trace.is_object() && trace.contains("phases")) traces.push_back(trace["phases"]);
    if (trace.is_object() && trace.contains("skipped")) trace_skipped = trace["skipped"];
  }
  out["harness_overhead"] = overhead.empty() ? json() : json(mean(overhead));
  out["sampler_cpu_share"] = sampler.empty() ? json() : json(mean(sampler));
  out["op_profile"] = mean_of_objects(ops);
  out["activity_decode"] = mean_of_objects(activities);
  out["trace_phases"] = mean_of_objects(traces);
  if (!trace_skipped.empty()) out["trace_skipped"] = trace_skipped;
}

// One run's decode tokens as the summary sees them: its token log, and per decode token
// the threads' and disk's activity (empty when the run has no samples).
struct RunTokens {
  std::vector<TokenLogEntry> log;
  std::vector<TokenActivity> activity;
};

RunTokens read_run_tokens(const fs::path& run_dir) {
  RunTokens run;
  run.log = read_token_log(run_dir / "tokens.jsonl");
  const fs::path phases = run_dir / "phases.json", threads = run_dir / "threads.csv",
                 disk = run_dir / "disk.csv";
  if (!fs::exists(phases) || !fs::exists(threads)) return run;
  const uint64_t origin_ns = read_json_file(phases).at("load_ns").get<uint64_t>();
  const std::vector<DiskSample> disk_samples =
      fs::exists(disk) ? read_disk_csv(disk) : std::vector<DiskSample>();
  run.activity =
      token_activity(run.log, origin_ns, ThreadSchedSeries(read_thread_csv(threads)), disk_samples);
  return run;
}

// Where a configuration's in-run tail comes from, over its runs' token logs: the decode
// tokens slower than their own run's p90, and how far (ms) they lie above their run's mean
// latency, split exactly into waiting for weights (stall_us, vs the run's mean stall) and
// the rest (compute, sampling, scheduling: vs the run's mean of latency - stall). Also
// whether the first decode token (the one after prefill, which would pay for refilling
// the prefetch pipeline) is slow: its latency over its run's mean, and in how many runs it
// is in the tail. And, where the runs have thread and disk samples, the activity of the
// tail tokens beside that of all decode tokens (activity_means): whether the I/O thread
// waited for a CPU, and whether the disk was slow or idle. Where the runtime timed its
// reads (io_busy_us, sync and stream), the same excess split by the token's reads
// (read_split): with the run's read rate R = its decode bytes / io_busy, a token's busy time
// is bytes_k / R_k, so excess = (bytes_k - mean bytes) / R [more bytes] + the rest of its busy
// time over the run's mean busy time [a slower read rate] + (latency - busy) over the run's
// mean [time with no read in flight]. In a read-bound run the stall / compute split hides
// a slow disk behind compute that slowed alongside; this one says what set the token's
// time. Null without decode tokens; the excesses are null when no token is slower than its
// run's p90 (flat runs).
json tail_breakdown(const std::vector<RunTokens>& runs_tokens) {
  std::vector<double> excess, stall_excess, compute_excess, first_over_mean;
  std::vector<double> bytes_excess, rate_excess, no_read_excess;
  double tail_bytes = 0, tail_busy_ms = 0, all_bytes = 0, all_busy_ms = 0;
  std::vector<TokenActivity> tail_activity, all_activity;
  size_t runs = 0, first_in_tail = 0;
  for (const RunTokens& run : runs_tokens) {
    std::vector<const TokenLogEntry*> decode;
    for (const TokenLogEntry& e : run.log)
      if (e.phase == "decode") decode.push_back(&e);
    if (decode.empty()) continue;
    ++runs;
    std::vector<double> latency, stall, bytes, busy;
    for (const TokenLogEntry* e : decode) {
      latency.push_back(static_cast<double>(e->latency_us) / 1000.0);
      stall.push_back(static_cast<double>(e->stall_us) / 1000.0);
      bytes.push_back(static_cast<double>(e->bytes_read));
      busy.push_back(static_cast<double>(e->io_busy_us) / 1000.0);
    }
    const double mean_latency = mean(latency), mean_stall = mean(stall);
    const double mean_bytes = mean(bytes), mean_busy = mean(busy);
    const bool reads_timed = mean_busy > 0;
    const double bytes_per_ms = reads_timed ? mean_bytes / mean_busy : 0;  // the run's R
    if (reads_timed) {
      all_bytes += mean_bytes * static_cast<double>(bytes.size());
      all_busy_ms += mean_busy * static_cast<double>(busy.size());
    }
    const double p90 = percentile(latency, 90);
    for (size_t k = 0; k < latency.size(); ++k) {
      if (latency[k] <= p90) continue;
      excess.push_back(latency[k] - mean_latency);
      stall_excess.push_back(stall[k] - mean_stall);
      compute_excess.push_back(excess.back() - stall_excess.back());
      if (!run.activity.empty()) tail_activity.push_back(run.activity[k]);
      if (!reads_timed) continue;
      bytes_excess.push_back(bytes_per_ms > 0 ? (bytes[k] - mean_bytes) / bytes_per_ms : 0);
      rate_excess.push_back(busy[k] - mean_busy - bytes_excess.back());
      no_read_excess.push_back(excess.back() - (busy[k] - mean_busy));
      tail_bytes += bytes[k];
      tail_busy_ms += busy[k];
    }
    all_activity.insert(all_activity.end(), run.activity.begin(), run.activity.end());
    if (mean_latency > 0) first_over_mean.push_back(latency.front() / mean_latency);
    if (latency.front() > p90) ++first_in_tail;
  }
  if (runs == 0) return nullptr;
  const auto mean_or_null = [](const std::vector<double>& v) {
    return v.empty() ? json() : json(mean(v));
  };
  const auto gbps = [](double bytes, double busy_ms) {
    return busy_ms > 0 ? json(bytes / busy_ms / 1e6) : json();
  };
  const json read_split = all_busy_ms > 0 ? json{{"tokens", bytes_excess.size()},
                                                 {"bytes_ms", mean_or_null(bytes_excess)},
                                                 {"rate_ms", mean_or_null(rate_excess)},
                                                 {"no_read_ms", mean_or_null(no_read_excess)},
                                                 {"tail_read_gbps", gbps(tail_bytes, tail_busy_ms)},
                                                 {"all_read_gbps", gbps(all_bytes, all_busy_ms)}}
                                          : json();
  return {{"tail_tokens", excess.size()},
          {"excess_ms", mean_or_null(excess)},
          {"stall_ms", mean_or_null(stall_excess)},
          {"compute_ms", mean_or_null(compute_excess)},
          {"first_decode_over_mean", mean_or_null(first_over_mean)},
          {"first_decode_in_tail_runs", first_in_tail},
          {"runs", runs},
          {"read_split", read_split},
          {"activity", all_activity.empty() ? json()
                                            : json{{"tail", activity_means(tail_activity)},
                                                   {"all", activity_means(all_activity)}}}};
}

// `online_cpus`: the machine's (provenance.json), 0 when unknown.
json configuration_summary(const fs::path& results_dir, const std::vector<const json*>& runs,
                           int online_cpus) {
  const json& first = *runs.front();
  json out;
  out["config_index"] = first.at("run").at("config_index");
  out["label"] = first.at("run").at("configuration");
  out["run"] = configuration_of(first.at("run"));
  out["budget_bytes"] = first.value("budget_bytes", json());
  out["runs_measured"] = runs.size();
  std::map<std::string, int> statuses;
  std::vector<double> load_s, decode_tps, prompt_tps, ttft, stall, per_run_p99, per_run_ratio,
      peaks, cgroup_peaks, faults, read, io_some, pooled, normalised, load_achieved;
  std::vector<RunTokens> token_logs;
  size_t ok = 0;
  for (const json* r : runs) {
    const std::string status = r->at("status").get<std::string>();
    ++statuses[status];
    if (status != "ok") continue;
    ++ok;
    const json& stats = r->contains("stats") ? r->at("stats") : json();
    if (auto v = number_at(stats, "load_s")) load_s.push_back(*v);
    if (auto v = number_at(stats, "decode_tps")) decode_tps.push_back(*v);
    if (auto v = number_at(stats, "prompt_tps")) prompt_tps.push_back(*v);
    if (auto v = number_at(stats, "ttft_s")) ttft.push_back(*v);
    if (auto v = number_at(stats, "stall_s")) stall.push_back(*v);
    const json run_latency = r->value("latency_ms", json());
    const auto p50 = number_at(run_latency, "p50");
    const auto p99 = number_at(run_latency, "p99");
    if (p99) per_run_p99.push_back(*p99);
    if (p50 && p99 && *p50 > 0) per_run_ratio.push_back(*p99 / *p50);
    if (auto v = number_at(*r, "max_rss_bytes")) peaks.push_back(*v);
    if (auto v = number_at(r->value("cgroup", json()), "peak_bytes")) cgroup_peaks.push_back(*v);
    if (auto v = number_at(*r, "major_faults")) faults.push_back(*v);
    if (auto v = number_at(*r, "read_bytes")) read.push_back(*v);
    if (auto v = number_at(r->value("io_pressure", json()), "some_us")) io_some.push_back(*v);
    // The CPU time stress-ng got, as a percentage of every CPU like the requested load: on a
    // busy host its workers get less than asked.
    const json load = r->value("background_load", json());
    const auto load_cpu_s = number_at(load, "cpu_s");
    const auto load_wall_s = number_at(load, "wall_s");
    if (online_cpus > 0 && load_cpu_s && load_wall_s && *load_wall_s > 0)
      load_achieved.push_back(*load_cpu_s / *load_wall_s / online_cpus * 100);
    const fs::path run_dir = run_directory(results_dir, r->at("run").at("index").get<size_t>());
    if (fs::exists(run_dir / "tokens.jsonl")) {
      token_logs.push_back(read_run_tokens(run_dir));
      const std::vector<double> ms = decode_latencies_ms(token_logs.back().log);
      pooled.insert(pooled.end(), ms.begin(), ms.end());
      const double run_p50 = ms.empty() ? 0 : median(ms);
      if (run_p50 > 0)
        for (double m : ms) normalised.push_back(m / run_p50);
    }
  }
  out["runs_ok"] = ok;
  out["statuses"] = statuses;
  out["load_s"] = mean_sd(load_s);
  out["decode_tps"] = mean_sd(decode_tps);
  out["prompt_tps"] = mean_sd(prompt_tps);
  out["ttft_s"] = mean_sd(ttft);
  out["stall_s"] = mean_sd(stall);
  out["latency_ms"] = pooled.empty() ? json() : summary_json(summarize(pooled));
  out["per_run_p99_ms"] = per_run_p99;
  out["cv_p99"] = cv_of(per_run_p99);
  // Peak RSS is the process's own resident set (rusage), what seed 002 measures. The
  // cgroup's peak also counts the page cache the run brought in, so it depends on what
  // other processes left cached (1.6 to 626 MiB for identical warm-cache mmap runs here).
  out["peak_rss_bytes"] = mean_sd(peaks);
  out["cv_peak_rss"] = cv_of(peaks);
  out["cgroup_peak_bytes"] = mean_sd(cgroup_peaks);
  out["cv_cgroup_peak"] = cv_of(cgroup_peaks);
  out["p99_over_p50_pooled"] =
      pooled.empty() || out["latency_ms"]["p50"].get<double>() == 0
          ? json()
          : json(out["latency_ms"]["p99"].get<double>() / out["latency_ms"]["p50"].get<double>());
  // Each token over its own run's p50, pooled: the runs' tails on one scale without the
  // drift between runs, and a p99 of all runs' tokens (a run's own p99 of 31 tokens is
  // mostly its slowest token).
  out["p99_over_p50_normalised"] = normalised.empty() ? json() : json(percentile(normalised, 99));
  out["per_run_p99_over_p50"] = per_run_ratio;
  out["p99_over_p50_per_run"] =
      per_run_ratio.empty()
          ? json()
          : json{{"median", median(per_run_ratio)},
                 {"max", *std::max_element(per_run_ratio.begin(), per_run_ratio.end())}};
  out["tail_breakdown"] = tail_breakdown(token_logs);
  out["major_faults"] = mean_sd(faults);
  out["read_bytes"] = mean_sd(read);
  out["io_some_us"] = mean_sd(io_some);
  out["background_load_achieved"] = mean_sd(load_achieved);
  add_profile_means(runs, out);
  return out;
}

struct LineFit {
  double slope = 0, intercept = 0, r2 = 1, max_residual_fraction = 0;
};

// Least squares y = slope x + intercept; R² = 1 - SS_res / SS_tot (1 when y is constant).
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = mean(x), my = mean(y);
  double sxx = 0, sxy = 0, ss_tot = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    ss_tot += (y[i] - my) * (y[i] - my);
  }
  LineFit fit;
  fit.slope = sxx > 0 ? sxy / sxx : 0;
  fit.intercept = my - fit.slope * mx;
  double ss_res = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double residual = y[i] - (fit.slope * x[i] + fit.intercept);
    ss_res += residual * residual;
    if (my != 0)
      fit.max_residual_fraction = std::max(fit.max_residual_fraction, std::abs(residual) / my);
  }
  fit.r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 1;
  return fit;
}

json load_curve(const std::vector<json>& configurations, const std::vector<size_t>& members) {
  std::vector<size_t> sorted = members;
  std::sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
    return configurations[a]["run"]["background_load"].get<int>() <
           configurations[b]["run"]["background_load"].get<int>();
  });
  json curve;
  const json& first = configurations[sorted.front()]["run"];
  curve["scope"] = scope_label(first, {"variant", "background_load"});
  std::vector<double> loads, mean_ms, p99_ms, tps;
  json achieved = json::array();
  std::set<std::string> variants;
  std::vector<size_t> indices;
  for (size_t i : sorted) {
    const json& c = configurations[i];
    if (c["latency_ms"].is_null()) continue;
    loads.push_back(c["run"]["background_load"].get<double>());
    mean_ms.push_back(c["latency_ms"]["mean"].get<double>());
    p99_ms.push_back(c["latency_ms"]["p99"].get<double>());
    tps.push_back(c["decode_tps"].is_null() ? 0.0 : c["decode_tps"]["mean"].get<double>());
    const json& got = c["background_load_achieved"];
    achieved.push_back(got.is_object() ? got["mean"] : json());
    variants.insert(c["run"]["variant"].get<std::string>());
    indices.push_back(c["config_index"].get<size_t>());
  }
  curve["variants"] = variants;
  curve["config_indices"] = indices;
  curve["loads"] = loads;
  curve["mean_ms"] = mean_ms;
  curve["p99_ms"] = p99_ms;
  curve["decode_tps"] = tps;
  curve["achieved_loads"] = achieved;
  if (loads.size() >= 2) {
    const LineFit fit = fit_line(loads, mean_ms);
    curve["fit"] = {{"slope_ms_per_percent", fit.slope},
                    {"intercept_ms", fit.intercept},
                    {"r2", fit.r2},
                    {"max_residual_percent", fit.max_residual_fraction * 100}};
  } else {
    curve["fit"] = nullptr;
  }
  return curve;
}

json criterion(std::string name, std::string source, std::string scope, json value,
               std::string figure, std::string threshold, std::optional<bool> pass,
               std::string detail = "") {
  return {{"criterion", std::move(name)},
          {"source", std::move(source)},
          {"scope", std::move(scope)},
          {"value", std::move(value)},
          {"figure", std::move(figure)},
          {"threshold", std::move(threshold)},
          {"result", pass ? (*pass ? "PASS" : "FAIL") : "n/a"},
          {"detail", std::move(detail)}};
}

std::string percent(double fraction) { return fmt::format("{:.2f} %", fraction * 100); }

// A criterion "fraction < threshold" (a CV, an overhead) for every configuration in
// `configs` that has the statistic; one "n/a" entry saying why when none has. The fraction
// at `beside` (when given and known) is shown in the detail, named `beside_name`.
void add_fraction_criteria(json& criteria, const std::vector<json>& configs, const char* key,
                           const std::string& name, const std::string& source, double threshold,
                           const std::string& missing, const char* beside = nullptr,
                           const std::string& beside_name = "") {
  bool any = false;
  for (const json& c : configs) {
    if (c[key].is_null()) continue;
    any = true;
    const double cv = c[key].get<double>();
    std::string detail = fmt::format("{} runs", c["runs_ok"].get<int>());
    if (beside != nullptr && !c[beside].is_null())
      detail += fmt::format("; {} {}", beside_name, percent(c[beside].get<double>()));
    criteria.push_back(criterion(name, source, c["label"].get<std::string>(), cv, percent(cv),
                                 "< " + percent(threshold), cv < threshold, detail));
  }
  if (!any)
    criteria.push_back(criterion(name, source, "all configurations", nullptr, "",
                                 "< " + percent(threshold), std::nullopt, missing));
}

// What stress-ng got of each requested load level of a curve (percent of every CPU), and a
// warning when a level got less than half of it: the curve then shows the host's other
// work more than the requested load.
std::string achieved_load_note(const json& curve) {
  std::string levels;
  bool short_of_load = false;
  for (size_t k = 0; k < curve["loads"].size(); ++k) {
    const double asked = curve["loads"][k].get<double>();
    const json& got = curve["achieved_loads"][k];
    if (asked == 0 || !got.is_number()) continue;
    levels +=
        fmt::format("{}{:.0f} -> {:.0f}", levels.empty() ? "" : ", ", asked, got.get<double>());
    short_of_load |= got.get<double>() < asked / 2;
  }
  if (levels.empty()) return "";
  return fmt::format("; stress-ng got (% of every CPU) {}{}", levels,
                     short_of_load ? ": less than half of the requested load, the host's other "
                                     "work took the CPUs"
                                   : "");
}

// "beside 2 threads sweeping 607 MiB a window" (a disk floor's beside_compute).
std::string describe_sweeps(const json& beside) {
  return fmt::format("beside {} threads sweeping {:.0f} MiB a window",
                     beside["sweep_threads"].get<int>(),
                     beside["sweep_bytes"].get<double>() / 1048576.0);
}

// "p50 .. ms, p99 .. ms, max .. ms, p99/p50 .., .. GB/s median" of a disk floor's windows.
std::string describe_windows(const json& floor) {
  return fmt::format(
      "p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms, p99/p50 {:.3f}, {:.2f} GB/s "
      "median",
      floor["p50_ms"].get<double>(), floor["p99_ms"].get<double>(), floor["max_ms"].get<double>(),
      floor["p99_over_p50"].get<double>(), floor["gbps_median"].get<double>());
}

// The disk floor (disk_floor.json) measured at a configuration's model and budget, as the
// tail criterion's detail shows it, or "" when there is none.
std::string disk_floor_detail(const json& disk_floor, const json& run) {
  if (disk_floor.is_null() || disk_floor["model"] != run["model"]["label"]) return "";
  for (const json& b : disk_floor["budgets"]) {
    if (b["budget"] != run["budget"] || b.contains("skipped")) continue;
    std::string detail = fmt::format(
        "; disk floor at {} (the runtime's reads, {} windows of {:.0f} MiB, "
        "docs/experiments.md): p99 / p50 {:.3f} alone",
        b["budget"].get<std::string>(), b["windows"].get<int>(),
        b["window_bytes"].get<double>() / 1048576.0, b["p99_over_p50"].get<double>());
    if (b.contains("beside_compute"))
      detail += fmt::format(", {:.3f} {}", b["beside_compute"]["p99_over_p50"].get<double>(),
                            describe_sweeps(b["beside_compute"]));
    return detail;
  }
  return "";
}

json evaluate_criteria(const std::vector<json>& configurations, const json& load_curves,
                       const json& machine_floor, const json& disk_floor) {
  json criteria = json::array();
  const std::string seed = "seed 002";
  add_fraction_criteria(
      criteria, configurations, "cv_p99", "CV of p99 across runs", seed, kSeedCvP99,
      "needs 2 or more successful runs with per-token latencies per configuration");
  const std::string cgroup_peak = "CV of the cgroup peak (with the page cache it charged)";
  add_fraction_criteria(criteria, configurations, "cv_peak_rss", "CV of peak RSS across runs", seed,
                        kSeedCvPeakRss, "needs 2 or more successful runs per configuration",
                        "cv_cgroup_peak", cgroup_peak);

  const std::string linear = "Degradation under load close to linear";
  const std::string linear_threshold =
      fmt::format("R2 >= {:.2f} or max residual <= {:.0f} %", kLinearR2, kLinearMaxResidual * 100);
  bool any_curve = false;
  for (const json& curve : load_curves) {
    if (curve["loads"].size() < 3) continue;
    any_curve = true;
    const json& fit = curve["fit"];
    const double r2 = fit["r2"].get<double>();
    const double residual = fit["max_residual_percent"].get<double>() / 100;
    const double at_zero = fit["intercept_ms"].get<double>();
    const double per_10 =
        at_zero != 0 ? fit["slope_ms_per_percent"].get<double>() * 10 / at_zero * 100 : 0.0;
    criteria.push_back(
        criterion(linear, seed, curve["scope"].get<std::string>(), r2,
                  fmt::format("R2 {:.3f}, max residual {:.1f} %, {:+.1f} % latency per 10 % load",
                              r2, residual * 100, per_10),
                  linear_threshold, r2 >= kLinearR2 || residual <= kLinearMaxResidual,
                  fmt::format("mean token latency at loads {}{}", curve["loads"].dump(),
                              achieved_load_note(curve))));
  }
  if (!any_curve)
    criteria.push_back(criterion(linear, seed, "all configurations", nullptr, "", linear_threshold,
                                 std::nullopt,
                                 "needs 3 or more background-load levels of otherwise equal "
                                 "configurations"));

  const std::string sampling = "Sampling independence: CV of p99 spread";
  bool any_sampling = false;
  for (const auto& [key, members] : group_configurations(configurations, {"sampling"})) {
    std::vector<std::pair<std::string, double>> cvs;
    for (size_t i : members)
      if (!configurations[i]["cv_p99"].is_null())
        cvs.emplace_back(configurations[i]["run"]["sampling"]["name"].get<std::string>(),
                         configurations[i]["cv_p99"].get<double>());
    if (cvs.size() < 2) continue;
    any_sampling = true;
    const auto [low, high] = std::minmax_element(
        cvs.begin(), cvs.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    const double spread = high->second - low->second;
    std::string detail;
    for (const auto& [name, cv] : cvs)
      detail += (detail.empty() ? "" : ", ") + name + " " + percent(cv);
    criteria.push_back(criterion(sampling, seed,
                                 scope_label(configurations[members.front()]["run"], {"sampling"}),
                                 spread, fmt::format("{:.2f} pp", spread * 100),
                                 fmt::format("< {:.0f} pp", kSeedSamplingCvSpread * 100),
                                 spread < kSeedSamplingCvSpread, detail));
  }
  if (!any_sampling)
    criteria.push_back(criterion(sampling, seed, "all configurations", nullptr, "",
                                 fmt::format("< {:.0f} pp", kSeedSamplingCvSpread * 100),
                                 std::nullopt,
                                 "needs 2 or more sampling settings of otherwise equal "
                                 "configurations, each with a CV of p99"));

  add_fraction_criteria(criteria, configurations, "harness_overhead", "Per-token timing overhead",
                        "issue target (harness)", kHarnessOverhead,
                        "needs runs of a flashslim with `run --phases`");

  std::vector<json> stream;
  for (const json& c : configurations)
    if (c["run"]["mode"] == "stream") stream.push_back(c);
  if (stream.empty()) return criteria;
  const std::string target = "issue target (stream mode)";
  // The tail target is held by every run on its own (the worst run's p99 / p50): how much
  // slower the slow tokens of one generation are than its typical token. Pooling the tokens
  // of all runs would add the drift between runs, which the CV of p99 measures separately
  // (docs/experiments.md, "Tail ratio"); the pooled figure is shown beside it.
  for (const json& c : stream) {
    const json& per_run = c["p99_over_p50_per_run"];
    if (per_run.is_null()) continue;
    const double worst = per_run["max"].get<double>();
    const auto three = [](const json& v) {
      return v.is_null() ? std::string("-") : fmt::format("{:.3f}", v.get<double>());
    };
    criteria.push_back(criterion(
        "p99 / p50 per-token latency, worst run", target, c["label"].get<std::string>(), worst,
        fmt::format("{:.3f}", worst), fmt::format("<= {:.2f}", kStreamP99OverP50),
        worst <= kStreamP99OverP50,
        fmt::format("each run's own p99 / p50 over {} runs: median {:.3f}, max {:.3f}; p99 of "
                    "every token over its run's p50, pooled: {}; pooled over the runs' tokens "
                    "(includes between-run drift, not the target): {}",
                    c["per_run_p99_over_p50"].size(), per_run["median"].get<double>(), worst,
                    three(c["p99_over_p50_normalised"]), three(c["p99_over_p50_pooled"])) +
            (machine_floor.is_null()
                 ? ""
                 : fmt::format("; machine floor (the same memory sweep timed {} times, "
                               "docs/experiments.md): p99 / p50 {:.3f}",
                               machine_floor["passes"].get<int>(),
                               machine_floor["p99_over_p50"].get<double>())) +
            disk_floor_detail(disk_floor, c["run"])));
  }
  add_fraction_criteria(criteria, stream, "cv_p99", "CV of p99 across runs", target, kStreamCvP99,
                        "needs 2 or more successful stream runs per configuration");
  add_fraction_criteria(
      criteria, stream, "cv_peak_rss", "CV of peak RSS across runs", target, kStreamCvPeakRss,
      "needs 2 or more successful stream runs per configuration", "cv_cgroup_peak", cgroup_peak);
  return criteria;
}

}  // namespace

std::string scope_label(const json& c, const std::set<std::string>& omit) {
  std::vector<std::string> parts;
  auto add = [&](const char* field, std::string text) {
    if (!omit.contains(field) && !text.empty()) parts.push_back(std::move(text));
  };
  add("variant", c.at("variant").get<std::string>());
  add("model", c.at("model").at("label").get<std::string>());
  add("mode", c.at("mode").get<std::string>());
  add("budget", "budget=" + c.at("budget").get<std::string>());
  add("threads", fmt::format("t{}", c.at("threads").get<int>()));
  add("ctx", fmt::format("ctx{}", c.at("ctx").get<int>()));
  add("prompt_tokens", fmt::format("p{}", c.at("prompt_tokens").get<int>()));
  add("gen_tokens", fmt::format("n{}", c.at("gen_tokens").get<int>()));
  add("sampling", c.at("sampling").at("name").get<std::string>());
  add("background_load", fmt::format("load{}", c.at("background_load").get<int>()));
  std::string label;
  for (const std::string& p : parts) label += (label.empty() ? "" : " ") + p;
  return label;
}

std::map<std::string, std::vector<size_t>> group_configurations(
    const std::vector<json>& configurations, const std::set<std::string>& varying) {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < configurations.size(); ++i) {
    json key = configurations[i].at("run");
    for (const char* bookkeeping : {"config_index", "configuration"}) key.erase(bookkeeping);
    for (const std::string& field : varying) key.erase(field);
    groups[key.dump()].push_back(i);
  }
  return groups;
}

json summarize_experiment(const fs::path& results_dir, const std::string& experiment_name) {
  const std::vector<json> records = read_run_records(results_dir);
  std::map<size_t, std::vector<const json*>> by_configuration;
  for (const json& r : records)
    if (!r.at("run").at("warmup").get<bool>())
      by_configuration[r.at("run").at("config_index").get<size_t>()].push_back(&r);

  const fs::path provenance = results_dir / "provenance.json";
  const int online_cpus =
      fs::exists(provenance) ? read_json_file(provenance).value("online_cpus", 0) : 0;
  std::vector<json> configurations;
  for (const auto& [index, runs] : by_configuration)
    configurations.push_back(configuration_summary(results_dir, runs, online_cpus));

  json curves = json::array();
  for (const auto& [key, members] :
       group_configurations(configurations, {"variant", "background_load"})) {
    std::set<int> loads;
    for (size_t i : members) loads.insert(configurations[i]["run"]["background_load"].get<int>());
    if (loads.size() < 2 || loads.size() != members.size()) continue;
    curves.push_back(load_curve(configurations, members));
  }

  const fs::path floor_file = results_dir / kMachineFloorFile;
  const json machine_floor = fs::exists(floor_file) ? read_json_file(floor_file) : json();
  const fs::path disk_floor_file = results_dir / kDiskFloorFile;
  const json disk_floor = fs::exists(disk_floor_file) ? read_json_file(disk_floor_file) : json();

  json summary;
  summary["experiment"] = experiment_name;
  summary["criteria"] = evaluate_criteria(configurations, curves, machine_floor, disk_floor);
  summary["machine_floor"] = machine_floor;
  summary["disk_floor"] = disk_floor;
  summary["configurations"] = configurations;
  summary["load_curves"] = curves;
  return summary;
}

std::string format_criteria(const json& summary) {
  size_t name_width = 0, figure_width = 0;
  for (const json& c : summary.at("criteria")) {
    name_width = std::max(name_width, c["criterion"].get<std::string>().size());
    figure_width = std::max(figure_width, c["figure"].get<std::string>().size());
  }
  std::string text;
  for (const json& c : summary.at("criteria")) {
    text += fmt::format(
        "{:<4}  {:<{}}  {:<{}}  {:<14}  {} ({}){}\n", c["result"].get<std::string>(),
        c["criterion"].get<std::string>(), name_width, c["figure"].get<std::string>(), figure_width,
        c["threshold"].get<std::string>(), c["scope"].get<std::string>(),
        c["source"].get<std::string>(),
        c["detail"].get<std::string>().empty() ? "" : ": " + c["detail"].get<std::string>());
  }
  for (const std::string& floor : {format_machine_floor(summary), format_disk_floor(summary)})
    if (!floor.empty()) text += floor + "\n";
  return text;
}

std::string format_machine_floor(const json& summary) {
  const json& floor = summary.value("machine_floor", json());
  if (floor.is_null()) return "";
  return fmt::format("machine floor: a memory sweep of {:.0f} MiB, {} passes: p99/p50 {:.3f}",
                     floor["bytes"].get<double>() / 1048576.0, floor["passes"].get<int>(),
                     floor["p99_over_p50"].get<double>());
}

std::string format_disk_floor(const json& summary) {
  const json& floor = summary.value("disk_floor", json());
  if (floor.is_null()) return "";
  std::string text = fmt::format(
      "disk floor: {} read cold, reads of at most {:.0f} KiB x {} in flight, windows of a "
      "token's streamed bytes:",
      floor["model"].get<std::string>(), floor["read_bytes"].get<double>() / 1024,
      floor["queue_depth"].get<int>());
  if (floor.contains("skipped")) return text + " skipped: " + floor["skipped"].get<std::string>();
  for (const json& b : floor["budgets"]) {
    text += fmt::format(" {}", b["budget"].get<std::string>());
    if (b.contains("skipped")) {
      text += fmt::format(" skipped ({});", b["skipped"].get<std::string>());
      continue;
    }
    text += fmt::format(" {} x {:.0f} MiB", b["windows"].get<int>(),
                        b["window_bytes"].get<double>() / 1048576.0);
    // Floors since the plan's own reads say how many (before: reads of read_bytes each).
    if (b.contains("reads_per_window"))
      text += fmt::format(" of the plan's reads ({} a window, mean {:.0f} KiB)",
                          b["reads_per_window"].get<uint64_t>(),
                          b["mean_read_bytes"].get<double>() / 1024);
    text += ": " + describe_windows(b);
    if (b.contains("beside_compute")) {
      const json& beside = b["beside_compute"];
      text += fmt::format("; {} ({} sweeps, p50 {:.1f} ms): {}", describe_sweeps(beside),
                          beside["sweeps"].get<int>(), beside["sweep_p50_ms"].get<double>(),
                          describe_windows(beside));
    }
    text += ";";
  }
  text.pop_back();  // the last budget's ';'
  return text;
}

std::string format_configurations(const json& summary) {
  auto number = [](const json& value, const char* format_spec) -> std::string {
    return value.is_null() ? "-" : fmt::format(fmt::runtime(format_spec), value.get<double>());
  };
  std::string text =
      fmt::format("{:>4}  {:>5}  {:>17}  {:>9}  {:>9}  {:>9}  {:>13}  {:>7}  {:>7}  {:>8}  {}\n",
                  "cfg", "ok", "decode t/s", "p50 ms", "p99 ms", "max ms", "p99/p50 run", "pooled",
                  "CV p99", "CV peak", "configuration");
  for (const json& c : summary.at("configurations")) {
    const json& tps = c["decode_tps"];
    const json& latency = c["latency_ms"];
    const json& per_run = c["p99_over_p50_per_run"];
    const json none;
    text += fmt::format(
        "{:>4}  {:>5}  {:>17}  {:>9}  {:>9}  {:>9}  {:>13}  {:>7}  {:>7}  {:>8}  {}\n",
        c["config_index"].get<int>(),
        fmt::format("{}/{}", c["runs_ok"].get<int>(), c["runs_measured"].get<int>()),
        tps.is_null()
            ? "-"
            : fmt::format("{:.2f} ± {:.2f}", tps["mean"].get<double>(), tps["sd"].get<double>()),
        number(latency.is_null() ? none : latency["p50"], "{:.2f}"),
        number(latency.is_null() ? none : latency["p99"], "{:.2f}"),
        number(latency.is_null() ? none : latency["max"], "{:.2f}"),
        per_run.is_null() ? "-"
                          : fmt::format("{:.3f} / {:.3f}", per_run["median"].get<double>(),
                                        per_run["max"].get<double>()),
        number(c["p99_over_p50_pooled"], "{:.3f}"),
        c["cv_p99"].is_null() ? "-" : percent(c["cv_p99"].get<double>()),
        c["cv_peak_rss"].is_null() ? "-" : percent(c["cv_peak_rss"].get<double>()),
        c["label"].get<std::string>());
  }
  return text;
}

}  // namespace flashslim::bench
