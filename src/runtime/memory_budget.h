#pragma once
// Budget accounting: everything the process holds counts against --budget —
// its own baseline (binary, libraries, model metadata and tokenizer, measured
// as RSS once they are loaded), the forward pass (KV cache, activations,
// scratch), logits and sampler buffers, and what the weights need (resident
// rows and streaming slots, or the whole file in resident mode).
#include <cstdint>
#include <string>

#include "model/forward.h"
#include "model/model.h"

namespace flashslim {

// From /proc/self/status: VmRSS and VmHWM (peak RSS), bytes.
uint64_t current_rss_bytes();
uint64_t peak_rss_bytes();
// The process's baseline: VmRSS once freed heap is given back (malloc_trim).
// Heap freed so far (a parsed --plan document: ~3 MiB on TinyLlama) would
// otherwise count as held, and a planned run would measure a larger baseline
// than an automatic one or the profile.
uint64_t baseline_rss_bytes();

// Allowance for what the baseline measurement cannot see yet: thread stacks
// touched later, allocator slack, io_uring rings, page tables.
inline constexpr uint64_t kProcessMarginBytes = 8ull << 20;

struct MemoryBreakdown {
  uint64_t process = 0;  // measured RSS after loading metadata + kProcessMarginBytes
  uint64_t forward = 0;  // Forward::memory_bytes
  uint64_t scratch = 0;  // logits, sampler candidates
  uint64_t weights = 0;  // resident weights and slots (or the whole file)

  uint64_t fixed() const { return process + forward + scratch; }  // all but weights
  uint64_t total() const { return fixed() + weights; }
  std::string describe() const;  // "process 12.0 MiB + forward 30.1 MiB + ..."
};

// Everything but the weights, for a run of `model` with these options.
// `prompt_logits_rows`: rows of logits kept for the prompt (1, or the prompt
// length when all logits are recorded).
MemoryBreakdown fixed_memory(const Model& model, const ForwardOptions& forward, int n_threads,
                             int64_t prompt_logits_rows);

// "123.4 MiB"
std::string format_bytes(uint64_t bytes);

}  // namespace flashslim
