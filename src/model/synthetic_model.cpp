#include "model/synthetic_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <span>
#include <thread>

#include "core/error.h"
#include "core/target_clones.h"

namespace flashslim {
namespace {

// Rows are generated in chunks of about this many elements (4 MiB of floats
// per worker); the chunking depends only on the shape, so the random stream of
// every chunk, and the file, do not depend on the thread count.
constexpr int64_t kChunkElements = int64_t{1} << 20;

// Weight scales: inputs of every matmul have RMS ~1 (they come out of an
// RMSNorm or a SiLU-gated product), so N(0, 1/fan_in) keeps outputs at ~1.
// The two projections that add into the residual stream are scaled down by
// sqrt(2 n_layer) so the stream stays O(1) across layers; the head gets gain
// 2 so logits have a spread of a few units (a peaked, non-uniform softmax).
constexpr float kHeadGain = 2.0f;
constexpr float kNormJitter = 0.02f;  // norm weights ~N(1, 0.02^2)
constexpr float kBiasStddev = 0.02f;

// A weight of `rows` outputs x `cols` inputs; its type is chosen later.
SyntheticTensor matrix_tensor(std::string name, TensorRole role, int32_t layer, int64_t rows,
                              int64_t cols, float stddev) {
  return {std::move(name), role, layer, GgmlType::F32, {cols, rows}, 0.0f, stddev};
}

SyntheticTensor vector_tensor(std::string name, TensorRole role, int32_t layer, int64_t n) {
  const bool is_norm = role == TensorRole::Norm;
  return {std::move(name),
          role,
          layer,
          GgmlType::F32,
          {n},
          is_norm ? 1.0f : 0.0f,
          is_norm ? kNormJitter : kBiasStddev};
}

// splitmix64: turns any 64-bit value into a well-mixed one (seeding only).
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Approximately normal samples from 8 independent xoshiro128+ generators
// stepped in lockstep (the lane loops vectorize; core/target_clones.h). Each
// sample is the sum of four 16-bit uniforms (two outputs of its lane):
// Irwin-Hall with 4 terms, mean 4 * 32767.5, standard deviation
// 65536 / sqrt(3) (to 1e-5), tails cut at 3.46 sigma.
constexpr int kSamplerLanes = 8;

struct SamplerState {
  uint32_t a[kSamplerLanes], b[kSamplerLanes], c[kSamplerLanes], d[kSamplerLanes];
};

SamplerState seed_sampler(uint64_t seed) {
  SamplerState s;
  for (int k = 0; k < kSamplerLanes; ++k) {
    const uint64_t lo = splitmix64(seed), hi = splitmix64(seed);
    s.a[k] = static_cast<uint32_t>(lo);
    s.b[k] = static_cast<uint32_t>(lo >> 32);
    s.c[k] = static_cast<uint32_t>(hi);
    s.d[k] = static_cast<uint32_t>(hi >> 32) | 1;  // state must not be all zero
  }
  return s;
}

// `s` by value: a local state lets the compiler keep it in vector registers.
FLASHSLIM_LANE_CLONES
void fill_normal(SamplerState s, float mean, float stddev, float* out, int64_t n) {
  FLASHSLIM_NO_FP_CONTRACT
  const float scale = stddev * std::sqrt(3.0f) / 65536.0f;
  const float offset = mean - 131070.0f * scale;
  float group[kSamplerLanes];
  for (int64_t i = 0; i < n; i += kSamplerLanes) {
    for (int k = 0; k < kSamplerLanes; ++k) {
      uint32_t sum = 0;
      for (int step = 0; step < 2; ++step) {
        const uint32_t r = s.a[k] + s.d[k];
        const uint32_t t = s.b[k] << 9;
        s.c[k] ^= s.a[k];
        s.d[k] ^= s.b[k];
        s.b[k] ^= s.c[k];
        s.a[k] ^= s.d[k];
        s.c[k] ^= t;
        s.d[k] = std::rotl(s.d[k], 11);
        sum += (r & 0xFFFF) + (r >> 16);
      }
      group[k] = static_cast<float>(static_cast<int32_t>(sum)) * scale + offset;
    }
    std::copy_n(group, std::min<int64_t>(kSamplerLanes, n - i), out + i);
  }
}

uint64_t chunk_seed(uint64_t seed, size_t tensor, size_t chunk_in_tensor) {
  uint64_t state = seed;
  const uint64_t a = splitmix64(state) ^ (tensor + 1) * 0xD1B54A32D192ED03ull;
  state = a;
  return splitmix64(state) ^ (chunk_in_tensor + 1) * 0x8CB92BA72F3D8DD7ull;
}

struct Chunk {
  size_t tensor;
  size_t index_in_tensor;
  int64_t first_row;
  int64_t n_rows;
  size_t bytes;
};

std::vector<Chunk> split_into_chunks(const std::vector<SyntheticTensor>& tensors) {
  std::vector<Chunk> chunks;
  for (size_t t = 0; t < tensors.size(); ++t) {
    const int64_t cols = tensors[t].ne[0];
    int64_t rows = 1;
    for (size_t d = 1; d < tensors[t].ne.size(); ++d) rows *= tensors[t].ne[d];
    const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkElements / cols);
    const size_t row_size = row_bytes(tensors[t].type, cols);
    size_t index = 0;
    for (int64_t first = 0; first < rows; first += rows_per_chunk, ++index) {
      const int64_t n = std::min(rows_per_chunk, rows - first);
      chunks.push_back({t, index, first, n, row_size * static_cast<size_t>(n)});
    }
  }
  return chunks;
}

void set_hparams(gguf::Writer& out, const ModelPreset& p, ModelFileType file_type) {
  const std::string arch(p.arch);
  const auto key = [&](std::string_view suffix) { return fmt::format("{}.{}", arch, suffix); };
  const auto u32 = [](int32_t v) { return static_cast<uint32_t>(v); };
  out.set_string("general.architecture", arch);
  out.set_string("general.name", std::string(p.display_name));
  out.set_uint32(key("vocab_size"), u32(p.n_vocab));
  out.set_uint32(key("context_length"), u32(p.n_ctx_train));
  out.set_uint32(key("embedding_length"), u32(p.n_embd));
  out.set_uint32(key("block_count"), u32(p.n_layer));
  out.set_uint32(key("feed_forward_length"), u32(p.n_ff));
  out.set_uint32(key("rope.dimension_count"), u32(p.head_dim()));
  out.set_uint32(key("attention.head_count"), u32(p.n_head));
  out.set_uint32(key("attention.head_count_kv"), u32(p.n_head_kv));
  out.set_float32(key("rope.freq_base"), p.rope_freq_base);
  out.set_float32(key("attention.layer_norm_rms_epsilon"), p.rms_norm_eps);
  out.set_uint32("general.file_type", model_file_type_info(file_type).llama_ftype);
  out.set_uint32("general.quantization_version", 2);  // GGML_QNT_VERSION
}

// Workers claim chunks in order and fill a ring of `slots` output buffers;
// the calling thread writes the slots to the file in chunk order. A worker
// waits while its chunk's slot still holds an unwritten chunk.
class ChunkPipeline {
 public:
  ChunkPipeline(const std::vector<SyntheticTensor>& tensors, const std::vector<Chunk>& chunks,
                uint64_t seed, int n_workers)
      : tensors_(tensors),
        chunks_(chunks),
        seed_(seed),
        slots_(static_cast<size_t>(2 * n_workers + 2)),
        slot_chunk_(slots_.size(), kNone) {
    size_t max_bytes = 0;
    for (const Chunk& c : chunks) max_bytes = std::max(max_bytes, c.bytes);
    for (auto& slot : slots_) slot.resize(max_bytes);
    for (int w = 0; w < n_workers; ++w) workers_.emplace_back([this] { work(); });
  }

  ~ChunkPipeline() {
    stop();
    for (std::thread& t : workers_) t.join();
  }

  // Blocks until chunk j is generated; REQUIRES j is the next unwritten chunk.
  std::span<const uint8_t> wait_for(size_t j) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return slot_chunk_[j % slots_.size()] == j || error_; });
    if (error_) std::rethrow_exception(error_);
    return {slots_[j % slots_.size()].data(), chunks_[j].bytes};
  }

  void mark_written(size_t j) {
    {
      std::lock_guard lock(mutex_);
      slot_chunk_[j % slots_.size()] = kNone;
      written_ = j + 1;
    }
    slot_free_.notify_all();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    slot_free_.notify_all();
  }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  void work() {
    std::vector<float> values;
    try {
      for (size_t j = next_chunk_++; j < chunks_.size(); j = next_chunk_++) {
        {
          std::unique_lock lock(mutex_);
          slot_free_.wait(lock, [&] { return j < written_ + slots_.size() || stopping_; });
          if (stopping_) return;
        }
        generate(chunks_[j], values, slots_[j % slots_.size()].data());
        {
          std::lock_guard lock(mutex_);
          slot_chunk_[j % slots_.size()] = j;
        }
        ready_.notify_all();
      }
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      ready_.notify_all();
    }
  }

  void generate(const Chunk& chunk, std::vector<float>& values, uint8_t* out) const {
    const SyntheticTensor& t = tensors_[chunk.tensor];
    const int64_t n = chunk.n_rows * t.ne[0];
    values.resize(static_cast<size_t>(n));
    fill_normal(seed_sampler(chunk_seed(seed_, chunk.tensor, chunk.index_in_tensor)), t.mean,
                t.stddev, values.data(), n);
    // Rows are whole blocks, so a chunk of rows quantizes as one long row.
    type_traits(t.type).from_float(values.data(), out, n);
  }

  const std::vector<SyntheticTensor>& tensors_;
  const std::vector<Chunk>& chunks_;
  const uint64_t seed_;
  std::vector<std::vector<uint8_t>> slots_;
  std::vector<size_t> slot_chunk_;  // chunk a slot holds, ready to write; kNone if free
  std::atomic<size_t> next_chunk_{0};
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable slot_free_;
  size_t written_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace

std::vector<SyntheticTensor> plan_synthetic_tensors(const ModelPreset& p, ModelFileType file_type) {
  const int64_t embd = p.n_embd;
  const int64_t embd_kv = p.n_embd_kv();
  const int64_t ff = p.n_ff;
  const float in_embd = 1.0f / std::sqrt(static_cast<float>(embd));
  const float residual = 1.0f / std::sqrt(2.0f * static_cast<float>(p.n_layer));
  const float in_ff = 1.0f / std::sqrt(static_cast<float>(ff));

  std::vector<SyntheticTensor> tensors;
  tensors.push_back(matrix_tensor("token_embd.weight", TensorRole::TokenEmbd, -1, p.n_vocab, embd,
                                  kHeadGain * in_embd));
  for (int32_t layer = 0; layer < p.n_layer; ++layer) {
    const auto matrix = [&](std::string_view what, TensorRole role, int64_t rows, int64_t cols,
                            float stddev) {
      tensors.push_back(
          matrix_tensor(fmt::format("blk.{}.{}", layer, what), role, layer, rows, cols, stddev));
    };
    const auto vector = [&](std::string_view what, TensorRole role, int64_t n) {
      tensors.push_back(vector_tensor(fmt::format("blk.{}.{}", layer, what), role, layer, n));
    };
    vector("attn_norm.weight", TensorRole::Norm, embd);
    matrix("attn_q.weight", TensorRole::AttnQ, embd, embd, in_embd);
    if (p.qkv_bias) vector("attn_q.bias", TensorRole::Bias, embd);
    matrix("attn_k.weight", TensorRole::AttnK, embd_kv, embd, in_embd);
    if (p.qkv_bias) vector("attn_k.bias", TensorRole::Bias, embd_kv);
    matrix("attn_v.weight", TensorRole::AttnV, embd_kv, embd, in_embd);
    if (p.qkv_bias) vector("attn_v.bias", TensorRole::Bias, embd_kv);
    matrix("attn_output.weight", TensorRole::AttnOutput, embd, embd, in_embd * residual);
    vector("ffn_norm.weight", TensorRole::Norm, embd);
    matrix("ffn_gate.weight", TensorRole::FfnGate, ff, embd, in_embd);
    matrix("ffn_up.weight", TensorRole::FfnUp, ff, embd, in_embd);
    matrix("ffn_down.weight", TensorRole::FfnDown, embd, ff, in_ff * residual);
  }
  tensors.push_back(vector_tensor("output_norm.weight", TensorRole::Norm, -1, embd));
  if (!p.tied_embeddings) {
    tensors.push_back(matrix_tensor("output.weight", TensorRole::Output, -1, p.n_vocab, embd,
                                    kHeadGain * in_embd));
  }
  for (SyntheticTensor& t : tensors) {
    t.type = choose_tensor_type(file_type, t.role, t.ne[0], t.layer, p.n_layer, p.tied_embeddings);
  }
  return tensors;
}

void write_synthetic_model(const SyntheticModelSpec& spec, const std::string& path, uint64_t seed,
                           int n_threads,
                           const std::function<void(const WriteProgress&)>& on_progress) {
  const std::vector<SyntheticTensor> tensors = plan_synthetic_tensors(spec.preset, spec.file_type);
  for (const SyntheticTensor& t : tensors) {
    if (type_traits(t.type).from_float == nullptr) {
      fail("tensor '{}': type {} has no quantizer in this build", t.name, type_name(t.type));
    }
  }
  const std::vector<Chunk> chunks = split_into_chunks(tensors);

  gguf::Writer out(path);
  set_hparams(out, spec.preset, spec.file_type);
  for (const auto& [key, value] : spec.tokenizer) out.set(key, value);
  for (const SyntheticTensor& t : tensors) out.add_tensor(t.name, t.type, t.ne);
  out.write_header();

  WriteProgress progress;
  for (const Chunk& c : chunks) progress.bytes_total += c.bytes;

  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ChunkPipeline pipeline(tensors, chunks, seed, n_threads);
  for (size_t j = 0; j < chunks.size(); ++j) {
    out.write_data(pipeline.wait_for(j));
    pipeline.mark_written(j);
    progress.bytes_written += chunks[j].bytes;
    if (on_progress) on_progress(progress);
  }
  out.finish();
}

}  // namespace flashslim
