#pragma once
// `flashslim profile`: measures what the planner needs on this machine for
// one model (see profile.h). Prints one progress line per phase to stderr.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "planner/profile.h"
#include "planner/read_bandwidth.h"

namespace flashslim::planner {

struct ProfileOptions {
  int32_t threads = 0;                   // compute threads; 0 = all cores
  std::optional<uint64_t> budget_bytes;  // weights resident only if the model fits it
  std::vector<int32_t> prefill_batches = {1, 8, 32, 128};
  int32_t decode_tokens = 16;  // timed decode passes (after 2 warm-up passes)
  int32_t prefill_passes = 2;  // timed passes per batch size (after 1 warm-up)
  ReadBandwidthOptions reads{
      .read_bytes = {128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20},
      .queue_depths = {1, 2, 4, 8, 16, 32},
  };
  // Bytes each of the three storage.sustained_read samples reads (~0.25 s
  // at 2.2 GB/s).
  uint64_t sustained_read_bytes = 512ull << 20;
  bool quick = false;

  // The short calibration `plan` runs without --profile (a few seconds on a
  // 1B model): fewer tokens, batches and bandwidth points.
  static ProfileOptions quick_calibration(int32_t threads, std::optional<uint64_t> budget_bytes);
};

// `model` loaded and nothing else: the profile's baseline_rss_bytes is
// measured once the tokenizer is too, where `run` measures its own.
Profile profile_model(const Model& model, const ProfileOptions& options);

}  // namespace flashslim::planner
