#pragma once
// What the planner knows about one model on one machine: per-step compute
// times (decode, and prefill per batch size), the storage's read bandwidth
// curve, memory bandwidth, the process's memory before weights, and the
// machine. Written by `flashslim profile` as profile.json (docs/profile-format.md).
// Times in ms, sizes in bytes, bandwidths in GB/s (1e9 bytes/s).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "planner/model_identity.h"

namespace flashslim::planner {

inline constexpr int64_t kProfileFormatVersion = 3;

// Compute time of one forward pass over `batch` tokens, per schedule step.
struct PassTiming {
  int32_t batch = 1;
  std::vector<double> step_ms;  // by schedule step index: acquire → release (medians)
  double outside_steps_ms = 0;  // rest of the pass: embedding gather, between steps (median)
  int32_t passes = 0;           // passes the medians are taken over

  double total_ms() const;
};

// Sequential O_DIRECT reads of `read_bytes` each, `queue_depth` in flight.
struct BandwidthPoint {
  uint64_t read_bytes = 0;
  uint32_t queue_depth = 0;
  double gb_per_s = 0;
};

// The runtime's read setting (StreamingOptions: size x depth) read over many
// bytes, sampled several times through the profile: the curve's points are
// single short reads (64 MiB, ~30 ms) of a disk whose rate moves 2.0-2.8 GB/s
// within minutes.
struct SustainedRead {
  uint64_t read_bytes = 0;
  uint32_t queue_depth = 0;
  uint64_t bytes_per_sample = 0;
  std::vector<double> samples_gb_per_s;  // in the order taken

  // The rate plans assume for this setting: the slowest sample. Samples that
  // re-read what the profile just read come out faster (the host caches the
  // file: the 7B's after the curve 2.40-2.69 GB/s, before it 2.21-2.29), and
  // runs read below every sample (medians 2.01-2.26 in session 7).
  double gb_per_s() const;
};

struct StorageProfile {
  std::string backend;          // Storage::description(), e.g. "io_uring O_DIRECT"
  std::string device;           // block device holding the model file ("" if unknown)
  int64_t read_ahead_kb = -1;   // its read_ahead_kb; -1 if unknown
  bool evicted_before = false;  // the file was evicted from the page cache first
  std::vector<BandwidthPoint> curve;
  // What the runtime's prefetcher read at (bytes / time with reads in flight)
  // over streaming passes alone (the decode_streaming plan), with its reads
  // (size x depth). A check on the curve, not used by plans: it follows the
  // profile's resident load of the file, which the host may still cache.
  BandwidthPoint streaming_read;
  SustainedRead sustained_read;
};

struct Profile {
  ModelIdentity model;
  int32_t threads = 0;
  std::string compute_method;           // "resident" or "mmap, warmed up"
  std::vector<std::string> step_names;  // schedule order
  std::vector<uint64_t> step_weight_bytes;
  PassTiming decode;
  // One-token passes while the runtime streams (the automatic plan for half
  // the matrices, read ahead by its I/O thread, waits excluded): the compute
  // slows while reads are in flight (the I/O thread shares the cores), so
  // plans predict with a blend of `decode` and this by the disk's busy share.
  PassTiming decode_streaming;
  std::vector<PassTiming> prefill;  // ascending batch
  StorageProfile storage;
  double memory_gb_per_s = 0;  // streaming read over a buffer larger than L3, all threads
  uint64_t memory_buffer_bytes = 0;
  uint64_t baseline_rss_bytes = 0;  // process RSS with model index + tokenizer loaded, no weights
  nlohmann::json machine;           // bench::Provenance fields
  bool quick = false;               // the short calibration `plan` runs without --profile

  // The bandwidth of one read setting: the median of the curve's points with
  // read sizes within 4x and bytes in flight within 2x of it. Error if the
  // curve has none there.
  BandwidthPoint read_at(uint64_t read_bytes, uint32_t queue_depth) const;
  // The rate a run's reads of this setting are expected to get: the sustained
  // rate, scaled by the curve's ratio (read_at) between this setting and the
  // sustained one when they differ.
  BandwidthPoint expected_read_at(uint64_t read_bytes, uint32_t queue_depth) const;
  // The prefill timing whose batch is closest to `batch` (log scale).
  const PassTiming& prefill_for(int32_t batch) const;
};

nlohmann::json to_json(const Profile& profile);
// `file` names the source in errors. Checks every key and that step counts agree.
Profile profile_from_json(const nlohmann::json& value, const std::string& file);
void save_profile(const Profile& profile, const std::string& path);
Profile load_profile(const std::string& path);

}  // namespace flashslim::planner
