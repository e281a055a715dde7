#include "runtime/memory_budget.h"

#include <malloc.h>

#include <fstream>
#include <string>

#include "core/error.h"

namespace flashslim {

namespace {

uint64_t status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::stoull(line.substr(prefix.size())) * 1024;
  fail("/proc/self/status: no {} line", key);
}

}  // namespace

uint64_t current_rss_bytes() { return status_kib("VmRSS"); }
uint64_t peak_rss_bytes() { return status_kib("VmHWM"); }

void release_freed_heap() { malloc_trim(0); }

uint64_t baseline_rss_bytes() {
  release_freed_heap();
  return current_rss_bytes();
}

std::string format_bytes(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

std::string MemoryBreakdown::describe() const {
  return fmt::format("process {} + forward pass {} + logits/sampler {} + weights {}",
                     format_bytes(process), format_bytes(forward), format_bytes(scratch),
                     format_bytes(weights));
}

MemoryBreakdown fixed_memory(const Model& model, const ForwardOptions& forward, int n_threads,
                             int64_t prompt_logits_rows, uint64_t baseline_bytes) {
  const HParams& hp = model.hparams();
  MemoryBreakdown m;
  m.process = baseline_bytes + kProcessMarginBytes;
  m.forward = Forward::memory_bytes(hp, forward, n_threads);
  // Prompt logits, one row of decode logits, and the sampler's candidates
  // (id + logit + probability per token, and a copy while sorting).
  const uint64_t vocab = static_cast<uint64_t>(hp.n_vocab);
  m.scratch = vocab * 4 * (static_cast<uint64_t>(prompt_logits_rows) + 1) + vocab * 24;
  return m;
}

}  // namespace flashslim
