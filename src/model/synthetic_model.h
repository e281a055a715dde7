#pragma once
// Writes a real GGUF file of a preset's shapes with random weights at scales
// that keep a forward pass finite and non-degenerate. Streams: one chunk of
// rows is generated, quantized and written at a time, by a pool of threads,
// so memory stays O(threads x chunk) whatever the model size.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf.h"
#include "model/presets.h"
#include "model/quant_mix.h"

namespace flashslim {

struct SyntheticTensor {
  std::string name;
  TensorRole role;
  int32_t layer;  // block index; -1 outside the blocks
  GgmlType type;
  std::vector<int64_t> ne;  // ggml order: ne[0] = row length (a weight out x in has {in, out})
  float mean;               // weights are ~N(mean, stddev^2)
  float stddev;
};

// The tensors in execution order (token_embd, each block, output_norm,
// output), named as llama.cpp names them, typed by the file type's mix.
std::vector<SyntheticTensor> plan_synthetic_tensors(const ModelPreset& preset,
                                                    ModelFileType file_type);

struct SyntheticModelSpec {
  ModelPreset preset;  // n_vocab may differ from the named preset's (--vocab)
  ModelFileType file_type = ModelFileType::F16;
  // tokenizer.* metadata entries, written as given.
  std::vector<std::pair<std::string, gguf::Value>> tokenizer;
};

struct WriteProgress {
  uint64_t bytes_written = 0;  // tensor data bytes so far
  uint64_t bytes_total = 0;
};

// Writes `spec` to `path` (through "<path>.partial", renamed when complete).
// The bytes depend only on spec and seed, not on n_threads (<= 0: one per
// hardware thread). `on_progress` (may be empty) is called from the calling
// thread after each chunk. Throws Error on I/O failure or a type without a
// quantizer.
void write_synthetic_model(const SyntheticModelSpec& spec, const std::string& path, uint64_t seed,
                           int n_threads,
                           const std::function<void(const WriteProgress&)>& on_progress);

}  // namespace flashslim
