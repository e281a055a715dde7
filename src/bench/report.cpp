#include "bench/report.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "bench/experiment_summary.h"
#include "bench/plot.h"
#include "bench/report_document.h"
#include "bench/report_profiles.h"
#include "bench/run_results.h"
#include "core/error.h"

namespace flashslim::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;

std::string number(const json& value, int decimals) {
  if (!value.is_number()) return "-";
  return fmt::format("{:.{}f}", value.get<double>(), decimals);
}

std::string mean_sd(const json& value, int decimals) {
  if (!value.is_object()) return "-";
  return fmt::format("{:.{}f} ± {:.{}f}", value["mean"].get<double>(), decimals,
                     value["sd"].get<double>(), decimals);
}

std::string percent(const json& fraction) {
  return fraction.is_number() ? fmt::format("{:.2f} %", fraction.get<double>() * 100) : "-";
}

std::string mib(const json& bytes) {
  return bytes.is_number() ? fmt::format("{:.1f}", bytes.get<double>() / kMiB) : "-";
}

const json& field(const json& object, const char* key) {
  static const json null_value;
  if (!object.is_object()) return null_value;
  const auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

// Draws plots into OUT_DIR/plots and adds them to the document; the first failure (most
// likely gnuplot missing) stops further plotting and is reported once.
class Plotter {
 public:
  Plotter(ReportDocument& doc, const fs::path& out_dir) : doc_(doc), dir_(out_dir / "plots") {
    fs::create_directories(dir_);
  }
  void draw(const std::string& stem, const std::string& caption,
            const std::function<void(const fs::path&)>& render) {
    if (!problems_.empty()) return;
    try {
      render(dir_ / stem);
    } catch (const Error& e) {
      problems_.push_back(e.what());
      doc_.paragraph("Plots are missing from here on: " + std::string(e.what()));
      return;
    }
    ++count_;
    doc_.figure(caption, "plots/" + stem + ".png", "plots/" + stem + ".svg");
  }
  size_t count() const { return count_; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  ReportDocument& doc_;
  fs::path dir_;
  size_t count_ = 0;
  std::vector<std::string> problems_;
};

struct RunData {
  const json* record;
  std::vector<TokenLogEntry> tokens;  // empty when the run wrote no log
  std::vector<RssSample> rss;
};

// Measured successful runs per configuration index, with their token logs and RSS.
std::map<size_t, std::vector<RunData>> load_run_data(const fs::path& results_dir,
                                                     const std::vector<json>& records) {
  std::map<size_t, std::vector<RunData>> by_config;
  for (const json& r : records) {
    if (r["run"]["warmup"].get<bool>() || r["status"] != "ok") continue;
    const fs::path dir = run_directory(results_dir, r["run"]["index"].get<size_t>());
    RunData data{&r, {}, {}};
    if (fs::exists(dir / "tokens.jsonl")) data.tokens = read_token_log(dir / "tokens.jsonl");
    if (fs::exists(dir / "rss.csv")) data.rss = read_rss_csv(dir / "rss.csv");
    by_config[r["run"]["config_index"].get<size_t>()].push_back(std::move(data));
  }
  return by_config;
}

void describe_setup(ReportDocument& doc, const json& provenance, const std::vector<json>& records,
                    const json& summary) {
  size_t warmups = 0, measured = 0, ok = 0;
  for (const json& r : records) {
    (r["run"]["warmup"].get<bool>() ? warmups : measured) += 1;
    if (!r["run"]["warmup"].get<bool>() && r["status"] == "ok") ++ok;
  }
  const json& env = field(provenance, "harness_environment");
  const json& cgroup = field(env, "cgroup");
  doc.heading(2, "How the experiment was run");
  doc.paragraph(fmt::format(
      "{} configurations, {} runs: {} warm-up runs (discarded) and {} measured runs, of which {} "
      "succeeded. Warm-up runs come first; measured runs follow in rounds, each round running "
      "every configuration once, so slow drift of the machine spreads over all configurations "
      "and compared modes run side by side in time.",
      summary["configurations"].size(), records.size(), warmups, measured, ok));
  doc.bullets({
      "Every run is a fresh `flashslim run` child process (binary " +
          field(provenance, "flashslim_binary").get<std::string>() +
          ") generating a fixed number of tokens (--ignore-eos) from a prompt of the configured "
          "length in tokens, built from a fixed English passage with the model's tokenizer.",
      "Memory: before exec, the child joins its own memory cgroup (" +
          (cgroup.contains("version")
               ? "cgroup " + cgroup["version"].get<std::string>() + " under " +
                     cgroup["parent"].get<std::string>()
               : "none available: " + field(cgroup, "problem").get<std::string>()) +
          "). A budget sets the group's limit (memory.limit_in_bytes on v1, memory.max on v2); "
          "page cache the run charges (buffered reads, mmap faults of the model file) counts "
          "against it. Peak RSS is the process's rusage max RSS; the cgroup peak is the group's "
          "peak usage (memory.max_usage_in_bytes / memory.peak).",
      "CPU: with `cpus` the child is pinned (sched_setaffinity before exec). Background load is "
      "stress-ng --cpu 0 --cpu-load P on every online CPU, started before and stopped after "
      "the run; the CPU seconds it actually used are recorded per run.",
      "Page cache: with cold_cache the whole page cache is dropped before each run (sync; "
      "echo 3 > /proc/sys/vm/drop_caches); the share of the model file still cached at start "
      "is recorded. read_ahead_kb sets the model device's read-ahead for the run and restores "
      "it after.",
      "Per-token latency is measured inside the child: the wall time of each decode step "
      "(forward pass and sampling) from --token-log; TTFT, prompt and decode tokens/s and "
      "stall time come from --stats-json. From outside the harness records rusage (page "
      "faults, peak RSS), /proc/PID/io (bytes read from the block layer), RSS sampled every "
      "10 ms, and I/O stall time from /proc/pressure/io (system-wide, during the run).",
      "Controls that could not be applied are listed per run in `notes`; a run whose result "
      "would be mislabelled (a budget without a cgroup, load without stress-ng) is marked "
      "`skipped` instead of being run differently.",
  });
}

void describe_provenance(ReportDocument& doc, const json& provenance, const std::string& config) {
  doc.heading(2, "Provenance");
  std::vector<std::vector<std::string>> rows;
  for (const char* key :
       {"date", "git_commit", "build_flags", "cpu_model", "online_cpus", "kernel", "hostname"}) {
    const json& v = field(provenance, key);
    rows.push_back({key, v.is_string() ? v.get<std::string>() : v.dump()});
  }
  doc.table({"item", "value"}, rows);
  std::vector<std::vector<std::string>> models;
  for (const auto& [label, m] : field(provenance, "models").items())
    models.push_back(
        {label, m["path"].get<std::string>(), m["bytes"].dump(), m["sha256"].get<std::string>()});
  doc.table({"model", "file", "bytes", "sha256"}, models);
  doc.paragraph("CPU flags: " + field(provenance, "cpu_flags").get<std::string>());
  doc.paragraph("Harness environment (what it could control on this machine):");
  doc.code(field(provenance, "harness_environment").dump(2));
  doc.paragraph("The experiment configuration, as given (format: docs/experiments.md):");
  doc.code(config);
}

void describe_criteria(ReportDocument& doc, const json& summary) {
  doc.heading(2, "Success criteria");
  doc.bullets({
      "CV of p99 across runs < 15 % (seed 002, repeatable worst-case bounds): for each "
      "configuration, the p99 per-token decode latency of every measured run; CV = sample sd / "
      "mean of those p99s.",
      "CV of peak RSS across runs < 5 % (seed 002, memory stability): the peak resident set of "
      "each measured run's process (rusage max RSS). The cgroup's peak, shown in the detail and "
      "the table, also counts the page cache the run brought in, which depends on what other "
      "processes left cached, not on the run.",
      "Degradation under load close to linear (seed 002, controlled degradation): the mean "
      "per-token latency of configurations that differ only in background load (3 or more "
      "levels), fitted by a line; PASS when R2 >= 0.9, or when no point is more than 5 % of "
      "the mean away from the line (a flat curve, where noise dominates R2).",
      "Sampling independence (seed 002): configurations that differ only in the sampling "
      "setting; the spread (max - min) of their CVs of p99 must stay under 5 percentage points.",
      "Stream-mode targets of the harness issue: p99 / p50 <= 1.15, CV of p99 < 10 %, CV of "
      "peak RSS < 2 %. p99 / p50 is each run's own ratio (its decode tokens only), and the "
      "worst run must meet it: a bound on how much slower the slow tokens of one generation are "
      "than its typical token. The ratio over the tokens of all runs pooled (shown in the "
      "detail and the table) also holds the drift of the typical latency between runs, which "
      "the CV of p99 measures on its own; it is not the target.",
  });
  std::vector<std::vector<std::string>> rows;
  for (const json& c : summary["criteria"])
    rows.push_back({c["result"].get<std::string>(), c["criterion"].get<std::string>(),
                    c["figure"].get<std::string>(), c["threshold"].get<std::string>(),
                    c["scope"].get<std::string>(), c["source"].get<std::string>(),
                    c["detail"].get<std::string>()});
  doc.table({"result", "criterion", "figure", "threshold", "configuration", "source", "detail"},
            rows);
  // The jitter of the machine and of its disk, beside the p99 / p50 target they bound from
  // below.
  for (const std::string& floor : {format_machine_floor(summary), format_disk_floor(summary)})
    if (!floor.empty()) doc.paragraph(floor);
}

void describe_configurations(ReportDocument& doc, const json& summary) {
  doc.heading(2, "Results per configuration");
  doc.paragraph(
      "Measured runs only. Phase times come from the run's own stats: load (model open and "
      "plan), prefill (prompt t/s), TTFT (prefill start to first generated token), decode; "
      "latency percentiles pool every decode token of every successful run; p99/p50 run median "
      "and max are over each run's own ratio, p99/p50 pooled is the pooled p99 over the pooled "
      "p50; t/s are mean ± sample sd across runs; peak RSS is the process's max RSS (rusage), "
      "cgroup peak the group's peak usage (page cache the run charged included); stall "
      "is the time compute waited for weights.");
  std::vector<std::vector<std::string>> rows;
  for (const json& c : summary["configurations"]) {
    const json& l = c["latency_ms"];
    rows.push_back({std::to_string(c["config_index"].get<int>()),
                    c["label"].get<std::string>(),
                    fmt::format("{}/{}", c["runs_ok"].get<int>(), c["runs_measured"].get<int>()),
                    c["load_s"].is_object() ? number(c["load_s"]["mean"], 3) : "-",
                    mean_sd(c["decode_tps"], 2),
                    mean_sd(c["prompt_tps"], 1),
                    c["ttft_s"].is_object() ? number(c["ttft_s"]["mean"], 3) : "-",
                    number(field(l, "p50"), 2),
                    number(field(l, "p90"), 2),
                    number(field(l, "p99"), 2),
                    number(field(l, "max"), 2),
                    number(field(c["p99_over_p50_per_run"], "median"), 3),
                    number(field(c["p99_over_p50_per_run"], "max"), 3),
                    number(c["p99_over_p50_pooled"], 3),
                    percent(c["cv_p99"]),
                    c["peak_rss_bytes"].is_object() ? mib(c["peak_rss_bytes"]["mean"]) : "-",
                    percent(c["cv_peak_rss"]),
                    c["cgroup_peak_bytes"].is_object() ? mib(c["cgroup_peak_bytes"]["mean"]) : "-",
                    percent(c["cv_cgroup_peak"]),
                    c["major_faults"].is_object() ? number(c["major_faults"]["mean"], 0) : "-",
                    c["read_bytes"].is_object() ? mib(c["read_bytes"]["mean"]) : "-",
                    c["stall_s"].is_object() ? number(c["stall_s"]["mean"], 3) : "-"});
  }
  doc.table({"cfg",
             "configuration",
             "ok",
             "load s",
             "decode t/s",
             "prompt t/s",
             "TTFT s",
             "p50 ms",
             "p90 ms",
             "p99 ms",
             "max ms",
             "p99/p50 run median",
             "p99/p50 run max",
             "p99/p50 pooled",
             "CV p99",
             "peak RSS MiB",
             "CV peak RSS",
             "cgroup peak MiB",
             "CV cgroup peak",
             "major faults",
             "MiB read",
             "stall s"},
            rows);
}

// The tail tokens' CPU and disk activity beside all decode tokens' (tail / all per cell).
void describe_tail_activity(ReportDocument& doc, const json& summary) {
  std::vector<std::vector<std::string>> rows;
  for (const json& c : summary["configurations"]) {
    const json& t = c["tail_breakdown"];
    if (!t.is_object() || !t["activity"].is_object() || !t["activity"]["tail"].is_object())
      continue;
    const json& tail = t["activity"]["tail"];
    const json& all = t["activity"]["all"];
    auto pair = [&](const char* key, int decimals) {
      return number(tail[key], decimals) + " / " + number(all[key], decimals);
    };
    rows.push_back(
        {std::to_string(c["config_index"].get<int>()), c["label"].get<std::string>(),
         pair("io_runq_ms", 1), pair("io_involuntary", 1), pair("compute_runq_ms", 1),
         percent(tail["disk_busy_share"]) + " / " + percent(all["disk_busy_share"]),
         pair("disk_read_mbps", 0),
         percent(tail["run_share_of_disk_reads"]) + " / " + percent(all["run_share_of_disk_reads"]),
         percent(c["sampler_cpu_share"])});
  }
  if (rows.empty()) return;
  doc.paragraph(
      "The same tail tokens against all decode tokens (each cell: tail / all, means per "
      "token), from the thread and disk samples the harness takes every 20 ms. Run-queue ms: "
      "time the I/O threads (fs-prefetch, io_uring workers) or the compute threads (main, "
      "fs-compute; summed) were runnable but waited for a CPU; preempted: the I/O threads' "
      "involuntary context switches. Disk busy: share of the token's time the model's disk had "
      "reads in flight; disk MB/s: what it read per second busy (other processes' reads "
      "included); run share: this run's bytes of the disk's. An I/O thread that "
      "waits for a CPU in the tail points at CPU contention; a busy disk reading slower, at the "
      "storage; an idle disk during stalls, at reads not issued; a run share well below 100 "
      "%, at other processes reading from the same disk. Sampler CPU: what the "
      "harness's own sampling cost, as a share of one CPU over the run (it competes with "
      "the run for the CPUs).");
  doc.table({"cfg", "configuration", "I/O run-queue ms", "I/O preempted", "compute run-queue ms",
             "disk busy", "disk MB/s busy", "run share of disk reads", "sampler CPU"},
            rows);
}

// The tail tokens' excess split by their reads (tail_breakdown.read_split), for runs whose
// runtime timed its reads.
void describe_tail_reads(ReportDocument& doc, const json& summary) {
  std::vector<std::vector<std::string>> rows;
  for (const json& c : summary["configurations"]) {
    const json& t = c["tail_breakdown"];
    if (!t.is_object() || !t["read_split"].is_object()) continue;
    const json& r = t["read_split"];
    rows.push_back({std::to_string(c["config_index"].get<int>()), c["label"].get<std::string>(),
                    number(r["bytes_ms"], 1), number(r["rate_ms"], 1), number(r["no_read_ms"], 1),
                    number(r["tail_read_gbps"], 2) + " / " + number(r["all_read_gbps"], 2)});
  }
  if (rows.empty()) return;
  doc.paragraph(
      "The same excess split by the tokens' reads (sync and stream runs, which time their "
      "reads): more bytes than the run's mean token at the run's read rate, a slower read "
      "rate (the rest of the token's time with reads in flight over the run's mean), and "
      "time with no read in flight (over the run's mean). When the reads are in flight all "
      "the time, the read rate sets the token's time whatever the compute did; read GB/s: "
      "bytes / time with reads in flight, tail / all.");
  doc.table({"cfg", "configuration", "more bytes ms", "slower reads ms", "no read in flight ms",
             "read GB/s"},
            rows);
}

void describe_tail(ReportDocument& doc, const json& summary) {
  doc.heading(2, "Where the in-run tail comes from");
  doc.paragraph(
      "Per configuration, the decode tokens slower than their own run's p90: how many, and how "
      "far on average they lie above their run's mean token latency, split into waiting for "
      "weights (the token's stall time minus the run's mean stall) and the rest (compute, "
      "sampling, scheduling). A tail of stalls is the storage's read rate varying; a tail of "
      "compute is CPU contention or jitter, unless reads were in flight all the while (the "
      "split by reads below tells). First decode token: its latency over its run's "
      "mean (a prefetch pipeline refilled after prefill would show as > 1), and in how many "
      "runs it is in the tail.");
  std::vector<std::vector<std::string>> rows;
  for (const json& c : summary["configurations"]) {
    const json& t = c["tail_breakdown"];
    if (!t.is_object()) continue;
    rows.push_back(
        {std::to_string(c["config_index"].get<int>()), c["label"].get<std::string>(),
         std::to_string(t["tail_tokens"].get<int>()), number(t["excess_ms"], 1),
         number(t["stall_ms"], 1), number(t["compute_ms"], 1),
         number(t["first_decode_over_mean"], 3),
         fmt::format("{}/{}", t["first_decode_in_tail_runs"].get<int>(), t["runs"].get<int>())});
  }
  if (rows.empty()) {
    doc.paragraph("No decode tokens were logged.");
    return;
  }
  doc.table({"cfg", "configuration", "tail tokens", "above mean ms", "of which stall ms",
             "of which compute ms", "first decode / mean", "first decode in tail"},
            rows);
  describe_tail_reads(doc, summary);
  describe_tail_activity(doc, summary);
}

void plot_mode_comparison(ReportDocument& doc, Plotter& plotter,
                          const std::vector<json>& configurations,
                          const std::map<size_t, std::vector<RunData>>& runs) {
  doc.heading(2, "Mode comparison");
  bool any = false;
  size_t group_number = 0;
  for (const auto& [key, members] : group_configurations(configurations, {"mode"})) {
    if (members.size() < 2) continue;
    any = true;
    LinePlot plot;
    plot.title = "Per-token latency distribution by mode";
    plot.x_label = "decode token latency (ms)";
    plot.y_label = "fraction of tokens <= x";
    for (size_t i : members) {
      const json& c = configurations[i];
      const auto it = runs.find(c["config_index"].get<size_t>());
      if (it == runs.end()) continue;
      std::vector<double> ms;
      for (const RunData& run : it->second) {
        const std::vector<double> d = decode_latencies_ms(run.tokens);
        ms.insert(ms.end(), d.begin(), d.end());
      }
      if (ms.empty()) continue;
      std::sort(ms.begin(), ms.end());
      Series s{c["run"]["mode"].get<std::string>(), {}, {}, SeriesStyle::lines};
      for (size_t k = 0; k < ms.size(); ++k) {
        s.x.push_back(ms[k]);
        s.y.push_back(static_cast<double>(k + 1) / static_cast<double>(ms.size()));
      }
      plot.series.push_back(std::move(s));
    }
    const std::string scope = scope_label(configurations[members.front()]["run"], {"mode"});
    doc.heading(3, scope);
    if (!plot.series.empty())
      plotter.draw(fmt::format("modes-{:02}-latency-cdf", group_number++),
                   "Cumulative distribution of decode token latency per mode: " + scope,
                   [&](const fs::path& stem) { plot_lines(plot, stem); });
  }
  if (!any) doc.paragraph("Not drawn: no configurations differ only in the mode.");
}

void plot_budget_sweep(ReportDocument& doc, Plotter& plotter,
                       const std::vector<json>& configurations,
                       const std::map<size_t, std::vector<RunData>>& runs, const json& provenance) {
  doc.heading(2, "Tokens/s vs memory budget");
  doc.paragraph(
      "Decode tokens/s (mean over measured runs) against the budget as a share of the model "
      "file, one line per mode. Dashed: the bound min(1 / T_compute, disk bandwidth / streamed "
      "bytes per token) when the runs' stats report it (bound_tps); dotted: resident mode "
      "without a budget, the compute-only speed, when the experiment has it.");
  bool any = false;
  size_t group_number = 0;
  for (const auto& [key, members] : group_configurations(configurations, {"mode", "budget"})) {
    std::set<std::string> budgets;
    for (size_t i : members) budgets.insert(configurations[i]["run"]["budget"].get<std::string>());
    if (budgets.size() < 2) continue;
    any = true;
    LinePlot plot;
    plot.title = "Decode tokens/s vs budget";
    plot.x_label = "budget (% of model file)";
    plot.y_label = "decode tokens/s";
    std::map<std::string, Series> by_mode, bound_by_mode;
    for (size_t i : members) {
      const json& c = configurations[i];
      const std::string mode = c["run"]["mode"].get<std::string>();
      if (c["decode_tps"].is_null()) continue;
      const double tps = c["decode_tps"]["mean"].get<double>();
      if (c["budget_bytes"].is_null()) {
        if (mode == "resident") plot.lines.push_back({"resident, no budget", 0, tps});
        continue;
      }
      const std::string label = c["run"]["model"]["label"].get<std::string>();
      const double model_bytes =
          field(field(field(provenance, "models"), label.c_str()), "bytes").get<double>();
      const double share = c["budget_bytes"].get<double>() / model_bytes * 100;
      Series& s = by_mode[mode];
      s.title = mode;
      s.x.push_back(share);
      s.y.push_back(tps);
      std::vector<double> bounds;
      if (const auto it = runs.find(c["config_index"].get<size_t>()); it != runs.end())
        for (const RunData& run : it->second)
          if (const json& b = field((*run.record)["stats"], "bound_tps"); b.is_number())
            bounds.push_back(b.get<double>());
      if (!bounds.empty()) {
        Series& bound = bound_by_mode[mode];
        bound.title = "bound (" + mode + ")";
        bound.style = SeriesStyle::dashed;
        bound.x.push_back(share);
        bound.y.push_back(*std::max_element(bounds.begin(), bounds.end()));
      }
    }
    for (auto* series_map : {&by_mode, &bound_by_mode})
      for (auto& entry : *series_map) {
        Series& s = entry.second;  // a reference, not a structured binding: lambdas capture it
        // Sort by budget so the lines run left to right.
        std::vector<size_t> order(s.x.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
        Series sorted{s.title, {}, {}, s.style};
        for (size_t k : order) {
          sorted.x.push_back(s.x[k]);
          sorted.y.push_back(s.y[k]);
        }
        plot.series.push_back(std::move(sorted));
      }
    const std::string scope =
        scope_label(configurations[members.front()]["run"], {"mode", "budget"});
    doc.heading(3, scope);
    if (!plot.series.empty())
      plotter.draw(fmt::format("budget-{:02}-tps", group_number++),
                   "Decode tokens/s vs budget per mode: " + scope,
                   [&](const fs::path& stem) { plot_lines(plot, stem); });
  }
  if (!any)
    doc.paragraph(
        "Not drawn: the experiment has no configurations that differ only in "
        "mode and budget with two or more budgets.");
}

void plot_load_curves(ReportDocument& doc, Plotter& plotter, const json& summary) {
  doc.heading(2, "Degradation under background load");
  if (summary["load_curves"].empty()) {
    doc.paragraph("Not drawn: no configurations differ only in background load.");
    return;
  }
  size_t number_of_curve = 0;
  for (const json& curve : summary["load_curves"]) {
    const std::string scope = curve["scope"].get<std::string>();
    doc.heading(3, scope);
    const std::vector<double> loads = curve["loads"].get<std::vector<double>>();
    const std::vector<double> mean_ms = curve["mean_ms"].get<std::vector<double>>();
    const std::vector<double> p99_ms = curve["p99_ms"].get<std::vector<double>>();
    const std::vector<double> tps = curve["decode_tps"].get<std::vector<double>>();
    const json& achieved = field(curve, "achieved_loads");
    std::vector<std::vector<std::string>> rows;
    for (size_t k = 0; k < loads.size(); ++k)
      rows.push_back({fmt::format("{:.0f}", loads[k]),
                      number(k < achieved.size() ? achieved[k] : json(), 0),
                      fmt::format("{:.2f}", mean_ms[k]), fmt::format("{:.2f}", p99_ms[k]),
                      fmt::format("{:.2f}", tps[k]),
                      fmt::format("{:+.1f} %", (mean_ms[k] / mean_ms[0] - 1) * 100)});
    doc.table(
        {"load %", "stress-ng got %", "mean ms", "p99 ms", "decode t/s", "mean vs lowest load"},
        rows);
    LinePlot plot;
    plot.title = "Per-token latency vs background CPU load";
    plot.x_label = "background load (% of every CPU, stress-ng)";
    plot.y_label = "decode token latency (ms)";
    plot.series = {{"mean", loads, mean_ms, SeriesStyle::linespoints},
                   {"p99", loads, p99_ms, SeriesStyle::linespoints}};
    if (curve["fit"].is_object()) {
      const json& fit = curve["fit"];
      plot.lines.push_back(
          {fmt::format("line fit of the mean (R2 {:.3f})", fit["r2"].get<double>()),
           fit["slope_ms_per_percent"].get<double>(), fit["intercept_ms"].get<double>()});
    }
    plotter.draw(fmt::format("load-{:02}-latency", number_of_curve++),
                 "Decode token latency vs background load: " + scope,
                 [&](const fs::path& stem) { plot_lines(plot, stem); });
  }
}

void plot_configuration(ReportDocument& doc, Plotter& plotter, const json& c,
                        const std::vector<RunData>& runs) {
  const size_t index = c["config_index"].get<size_t>();
  doc.heading(3, fmt::format("cfg {}: {}", index, c["label"].get<std::string>()));
  std::vector<double> pooled;
  LinePlot by_position{"Decode token latency vs position",
                       "context position of the token",
                       "latency (ms)",
                       {},
                       {},
                       false,
                       false};
  LinePlot rss{"RSS over time (sampled every 10 ms)",
               "time since start (s)",
               "RSS (MiB)",
               {},
               {},
               false,
               false};
  for (const RunData& run : runs) {
    const std::string title = fmt::format("run {}", (*run.record)["run"]["index"].get<int>());
    Series s{title, {}, {}, SeriesStyle::lines};
    for (const TokenLogEntry& e : run.tokens) {
      if (e.phase != "decode") continue;
      s.x.push_back(static_cast<double>(e.pos));
      s.y.push_back(static_cast<double>(e.latency_us) / 1000.0);
      pooled.push_back(s.y.back());
    }
    if (!s.x.empty()) by_position.series.push_back(std::move(s));
    Series r{title, {}, {}, SeriesStyle::lines};
    for (const RssSample& sample : run.rss) {
      r.x.push_back(sample.time_s);
      r.y.push_back(static_cast<double>(sample.rss_bytes) / kMiB);
    }
    if (!r.x.empty()) rss.series.push_back(std::move(r));
  }
  if (const json& budget = c["budget_bytes"]; budget.is_number())
    rss.lines.push_back({"budget", 0, budget.get<double>() / kMiB});
  if (pooled.empty() && rss.series.empty()) {
    doc.paragraph("No per-token latencies or RSS samples (no successful measured run).");
    return;
  }
  if (!pooled.empty()) {
    const json& l = c["latency_ms"];
    Histogram h{"Decode token latency, all measured runs",
                "latency (ms)",
                pooled,
                40,
                {{"p50", l["p50"].get<double>()},
                 {"p99", l["p99"].get<double>()},
                 {"max", l["max"].get<double>()}}};
    plotter.draw(
        fmt::format("cfg{:03}-latency-hist", index),
        fmt::format("Histogram of {} decode token latencies (p50, p99, max marked)", pooled.size()),
        [&](const fs::path& stem) { plot_histogram(h, stem); });
    plotter.draw(fmt::format("cfg{:03}-latency-position", index),
                 "Decode token latency vs token position, one line per run",
                 [&](const fs::path& stem) { plot_lines(by_position, stem); });
  }
  if (!rss.series.empty())
    plotter.draw(fmt::format("cfg{:03}-rss", index),
                 "RSS of the run process over time, one line per run (budget dotted)",
                 [&](const fs::path& stem) { plot_lines(rss, stem); });
}

void describe_problems(ReportDocument& doc, const std::vector<json>& records) {
  doc.heading(2, "Runs that did not succeed, and notes");
  std::vector<std::vector<std::string>> failed;
  std::map<std::string, size_t> notes;
  for (const json& r : records) {
    if (r["status"] != "ok")
      failed.push_back({std::to_string(r["run"]["index"].get<int>()),
                        r["run"]["configuration"].get<std::string>(),
                        r["status"].get<std::string>(), r.value("error", std::string())});
    for (const json& note : r.value("notes", json::array())) ++notes[note.get<std::string>()];
  }
  if (failed.empty())
    doc.paragraph("Every run succeeded.");
  else
    doc.table({"run", "configuration", "status", "last stderr line"}, failed);
  if (!notes.empty()) {
    std::vector<std::string> items;
    for (const auto& [note, count] : notes)
      items.push_back(fmt::format("{} ({} runs)", note, count));
    doc.paragraph("Notes (controls requested but not applied, and why):");
    doc.bullets(items);
  }
}

void describe_files(ReportDocument& doc, const fs::path& results_dir) {
  doc.heading(2, "Files");
  doc.bullets({
      "Results directory: " + fs::absolute(results_dir).string(),
      "runs.csv: one row per run; summary.json: the statistics and criteria as the runner "
      "computed them (the report recomputes them from the runs into its own summary.json); "
      "provenance.json; experiment.json: the configuration.",
      "runs/NNNN/: run.json (the run's record), tokens.jsonl (per-token log), stats.json "
      "(runtime stats), rss.csv, stdout.txt, stderr.txt.",
      "plots/: each plot as PNG and SVG with its gnuplot script (.gp) and data (.dat); "
      "`gnuplot NAME.gp` in that directory redraws it.",
  });
}

}  // namespace

ReportOutcome write_report(const fs::path& results_dir, const fs::path& out_dir) {
  const std::vector<json> records = read_run_records(results_dir);
  const json provenance = read_json_file(results_dir / "provenance.json");
  const std::string config_text = [&] {
    std::ifstream in(results_dir / "experiment.json");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }();
  const std::string name = field(provenance, "experiment").is_string()
                               ? provenance["experiment"].get<std::string>()
                               : results_dir.filename().string();
  // Summarized from the runs, not read from RESULTS_DIR/summary.json: an interrupted
  // experiment has none, and results made before a statistic or criterion changed get
  // today's definitions. The summary used is written beside the report.
  const json summary = summarize_experiment(results_dir, name);
  const std::vector<json> configurations = summary["configurations"].get<std::vector<json>>();
  const std::map<size_t, std::vector<RunData>> runs = load_run_data(results_dir, records);

  fs::create_directories(out_dir);
  write_json_file(out_dir / "summary.json", summary);
  ReportDocument doc;
  Plotter plotter(doc, out_dir);
  doc.heading(1, "Experiment " + name);
  doc.paragraph(
      "Can LLM inference on a small CPU have bounded, repeatable per-token latency, and what do "
      "memory budgets, the way weights reach memory (mode), CPU pinning, mlock and background "
      "load do to it? This report shows one experiment made with `flashslim bench --out-dir`: the "
      "setup, where the numbers come from, the success criteria of seed 002 with their figures, "
      "and the plots.");
  describe_criteria(doc, summary);
  describe_setup(doc, provenance, records, summary);
  describe_configurations(doc, summary);
  describe_tail(doc, summary);
  plot_mode_comparison(doc, plotter, configurations, runs);
  plot_budget_sweep(doc, plotter, configurations, runs, provenance);
  plot_load_curves(doc, plotter, summary);
  describe_profiles(doc, summary);
  doc.heading(2, "Per configuration: latency histogram, latency vs position, RSS over time");
  for (const json& c : configurations) {
    const auto it = runs.find(c["config_index"].get<size_t>());
    plot_configuration(doc, plotter, c, it == runs.end() ? std::vector<RunData>{} : it->second);
  }
  describe_problems(doc, records);
  describe_provenance(doc, provenance, config_text);
  describe_files(doc, results_dir);

  ReportOutcome outcome;
  outcome.markdown = out_dir / "report.md";
  outcome.html = out_dir / "report.html";
  write_text_file(outcome.markdown, doc.markdown());
  write_text_file(outcome.html, doc.html("Experiment " + name));
  outcome.plots = plotter.count();
  outcome.problems = plotter.problems();
  return outcome;
}

}  // namespace flashslim::bench
