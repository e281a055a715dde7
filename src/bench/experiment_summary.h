#pragma once
// What an experiment showed: per configuration statistics over its measured runs, the
// latency-vs-background-load curves, and the success criteria of seed 002 (and the
// stream-mode targets of the harness issue), each PASS / FAIL with its figure.
// Computed from a results directory (docs/experiments.md), so `flashslim report` and the
// runner agree by construction.
//
// summary.json:
//   experiment        name
//   configurations[]  config_index, label, run (the RunSpec fields shared by its runs),
//                     budget_bytes, runs_measured, runs_ok, statuses (status → count),
//                     load_s / decode_tps / prompt_tps / ttft_s / stall_s
//                     ({mean, sd, n}),
//                     latency_ms (percentiles over every decode token of every ok run:
//                     count, min, max, mean, sd, cv, p50, p90, p99), per_run_p99_ms[],
//                     cv_p99, peak_rss_bytes ({mean, sd, n} of the runs' rusage max
//                     RSS), cv_peak_rss, cgroup_peak_bytes ({mean, sd, n}; includes the
//                     page cache the run charged), cv_cgroup_peak,
//                     p99_over_p50_normalised (p99 of every decode token's latency over
//                     its own run's p50, pooled over the runs: no drift between runs),
//                     p99_over_p50_pooled (p99 / p50 of the pooled tokens: includes the
//                     drift between runs), per_run_p99_over_p50[] (each ok run's own
//                     p99 / p50, from its run.json), p99_over_p50_per_run {median, max}
//                     (the stream target is evaluated on max: the worst run),
//                     tail_breakdown (decode tokens slower than their run's p90:
//                     tail_tokens, excess_ms over their run's mean = stall_ms + compute_ms;
//                     first_decode_over_mean, first_decode_in_tail_runs, runs;
//                     read_split {tokens, bytes_ms + rate_ms + no_read_ms = their
//                     excess (more bytes, a slower read rate, no read in flight),
//                     tail_read_gbps, all_read_gbps: the runs' bytes / io_busy in the
//                     tail and over all decode tokens}, null without io_busy_us;
//                     activity {tail, all}: run_activity.h activity_means of the tail
//                     tokens and of all decode tokens, null without thread samples),
//                     major_faults / read_bytes / io_some_us ({mean, sd, n}),
//                     background_load_achieved ({mean, sd, n}: the CPU time stress-ng got,
//                     % of every CPU; null without provenance.json's online_cpus),
//                     harness_overhead (mean fraction of the generation time spent
//                     taking per-token counters), sampler_cpu_share (mean CPU time the
//                     harness spent sampling a run, share of one CPU over its wall time),
//                     op_profile, activity_decode and trace_phases (the means of the runs' run.json
//                     objects of those names; null without), trace_skipped (why runs asked to be
//                     traced were not)
//   load_curves[]     scope, variants, config_indices, loads, achieved_loads, mean_ms,
//                     p99_ms, decode_tps, fit {slope_ms_per_percent, intercept_ms, r2,
//                     max_residual_percent}
//   criteria[]        criterion, source, scope, value, figure, threshold,
//                     result ("PASS", "FAIL" or "n/a"), detail (the stream p99 / p50
//                     criterion's names the machine floor and the disk floor at its
//                     budget when there are ones)
//   machine_floor     the results directory's machine_floor.json (machine_jitter.h:
//                     bytes, passes, p50_ms, p99_ms, p99_over_p50), null without
//   disk_floor        the results directory's disk_floor.json (disk_floor.h): model,
//                     read_bytes, queue_depth, budgets[] {budget, budget_bytes,
//                     read_bytes_per_token, window_bytes, reads_per_window and
//                     mean_read_bytes (absent in floors of sequential reads), windows,
//                     p50_ms, p99_ms, max_ms, p99_over_p50, gbps_median, beside_compute
//                     {the same window fields for the reads beside the run's threads
//                     sweeping the model's bytes once a window, sweep_bytes, sweep_threads,
//                     sweeps, sweep_p50_ms}; or skipped: why}, skipped (no budget at all);
//                     null without
// CVs are fractions; a statistic without enough data is null.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace flashslim::bench {

// Written by the runner when the experiment asks for "machine_floor" (machine_jitter.h).
inline constexpr const char* kMachineFloorFile = "machine_floor.json";
// Written by the runner when the experiment asks for "disk_floor" (disk_floor.h).
inline constexpr const char* kDiskFloorFile = "disk_floor.json";

nlohmann::json summarize_experiment(const std::filesystem::path& results_dir,
                                    const std::string& experiment_name);

// Configurations (summary.json `configurations` entries) that differ only in the RunSpec
// fields named in `varying` (e.g. {"mode"} for a mode comparison), as lists of positions
// in `configurations`, keyed by what they share.
std::map<std::string, std::vector<size_t>> group_configurations(
    const std::vector<nlohmann::json>& configurations, const std::set<std::string>& varying);

// A configuration's label ("variant model mode budget=B tT ctxC pP nN sampling loadL")
// without the RunSpec fields in `omit`: names a group of configurations.
std::string scope_label(const nlohmann::json& run, const std::set<std::string>& omit);

// The criteria as an aligned text table, one line each:
// "PASS  CV of p99 < 15 %          3.2 %   mmap aidreams260K ... (seed 002)".
// Followed by format_machine_floor's and format_disk_floor's lines when there are ones.
std::string format_criteria(const nlohmann::json& summary);
// "machine floor: a memory sweep of 637 MiB, 128 passes: p99/p50 1.190" (the summary's
// machine_floor), or "" without one.
std::string format_machine_floor(const nlohmann::json& summary);
// "disk floor: M read cold, reads of at most 1024 KiB x 8 in flight, windows of a token's
// streamed bytes: 25% 128 x 436 MiB of the plan's reads (440 a window, mean 1015 KiB):
// p50 .. ms, p99 .. ms, max .. ms, p99/p50 1.250, 2.41 GB/s median; beside 2 threads
// sweeping 607 MiB a window (128 sweeps, p50 .. ms): p50 .. ms,
// ..., 2.20 GB/s median; 75% ..." (the summary's disk_floor; a budget without one says
// why it was skipped), or "" without one.
std::string format_disk_floor(const nlohmann::json& summary);
// Per configuration: runs ok / measured, decode t/s mean ± sd, p50 / p99 / max per-token
// latency, p99 / p50 per run (median / max over runs) and pooled, CV of p99 and of peak
// RSS, as an aligned text table.
std::string format_configurations(const nlohmann::json& summary);

}  // namespace flashslim::bench
