#pragma once
// `--trace`: an eBPF trace (bpftrace) of one run's block I/O and user page faults,
// attributed to the run's phases. bpftrace is started before the child and traces every
// child of this process (in-kernel filter on the task's parent), so the child is traced
// from its first instruction without knowing its pid in advance; the events are then
// filtered by the child's pid and matched against the monotonic timestamps the child
// writes with `flashslim run --phases` (bpftrace's nsecs is the same CLOCK_MONOTONIC).
//
// trace.txt, the raw output:
//   B ISSUE_NS COMPLETE_NS PID BYTES RWBS   one block request (block_rq_issue → complete)
//   @faults[PID, MS]: N                     N user page faults in millisecond MS
//                                            (exceptions:page_fault_user, minor + major)
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/child_process.h"

namespace flashslim::bench {

// Why a trace cannot be taken here, or "" when it can: bpftrace in PATH, root, tracefs
// with the block and page-fault tracepoints (mounted at /sys/kernel/tracing when absent).
std::string ebpf_trace_problem();

class EbpfTrace {
 public:
  // Starts bpftrace writing to `output` and returns once its probes are attached (this
  // process page-faults until the last probe answers). Throws Error with bpftrace's own
  // message when it exits or does not attach within 60 s.
  explicit EbpfTrace(const std::filesystem::path& output);
  // Detaches (SIGINT, so bpftrace prints its maps; repeated every 5 s, SIGKILL after a
  // minute) and waits for bpftrace to exit.
  void stop();

 private:
  std::filesystem::path output_;
  std::unique_ptr<ChildProcess> bpftrace_;
};

// The trace of process `pid` per phase ("startup", "load", "prefill", "decode", "exit"; or
// one phase "run" without phase marks): block requests, bytes, request latency (µs:
// mean, p50, p99, max) and user page faults (each 1 ms bucket split between the phases
// it overlaps, in proportion to the overlap); plus lost events. `phases` is the child's
// --phases document or null.
nlohmann::json summarize_trace(const std::filesystem::path& trace_output, pid_t pid,
                               const nlohmann::json& phases);

}  // namespace flashslim::bench
