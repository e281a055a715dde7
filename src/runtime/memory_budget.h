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
// Gives freed heap back to the kernel (malloc_trim), so that RSS counts only
// what is held: a parsed --plan document (~3 MiB on TinyLlama) freed but kept
// by the allocator would otherwise stay resident beside the weights.
void release_freed_heap();
// The process's baseline: VmRSS, after release_freed_heap(), once the model's
// metadata and tokenizer are loaded and before anything else is (the prompt,
// a --plan document). `profile` and `run` (with or without --plan) measure it
// at this point, so the profile's baseline is the one a run measures and a
// plan's memory is the automatic plan's (docs/plan-format.md).
uint64_t baseline_rss_bytes();

// Allowance for what the baseline measurement cannot see yet: thread stacks
// touched later, allocator slack, io_uring rings, page tables.
inline constexpr uint64_t kProcessMarginBytes = 8ull << 20;
// How much more a run given a plan may measure as its baseline than the plan
// assumed (the profile's) and still run it: the difference comes out of
// kProcessMarginBytes instead of being refused. Measured at the same point,
// TinyLlama Q4_0 baselines were 9.89-10.30 MiB in 12 of 13 profiles (one
// 10.98) and 10.02-10.49 in 114 runs (automatic and planned, 25/50/75 %): the
// anonymous part is the same in every process to 8 KiB, the file-backed pages
// (binary, libraries, model header) vary by ~0.3 MiB with the page cache.
// Those runs peaked (VmHWM) 6.4-7.0 MiB below the budget, so the margin has
// room for this.
inline constexpr uint64_t kBaselineToleranceBytes = 1ull << 20;

struct MemoryBreakdown {
  uint64_t process = 0;  // baseline_rss_bytes() + kProcessMarginBytes
  uint64_t forward = 0;  // Forward::memory_bytes
  uint64_t scratch = 0;  // logits, sampler candidates
  uint64_t weights = 0;  // resident weights and slots (or the whole file)

  uint64_t fixed() const { return process + forward + scratch; }  // all but weights
  uint64_t total() const { return fixed() + weights; }
  std::string describe() const;  // "process 12.0 MiB + forward 30.1 MiB + ..."
};

// Everything but the weights, for a run of `model` with these options, in a
// process whose baseline_rss_bytes() is `baseline_bytes` (the run's own, or
// the profile's for a plan). `prompt_logits_rows`: rows of logits kept for
// the prompt (1, or the prompt length when all logits are recorded).
MemoryBreakdown fixed_memory(const Model& model, const ForwardOptions& forward, int n_threads,
                             int64_t prompt_logits_rows, uint64_t baseline_bytes);

// "123.4 MiB"
std::string format_bytes(uint64_t bytes);

}  // namespace flashslim
