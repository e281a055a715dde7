#pragma once
// WeightAccess over a model file that is entirely addressable in memory: the
// whole file read in (resident) or mmap'ed (pages fault in from the file on
// first touch, as llama.cpp does by default). acquire() is pointer arithmetic.
#include "model/model.h"
#include "runtime/weight_stats.h"
#include "storage/storage.h"

namespace flashslim {

class MappedWeights final : public RuntimeWeights {
 public:
  enum class Kind {
    Loaded,  // the file was read into memory (resident mode)
    Mapped,  // the file is mmap'ed (pages fault in)
  };
  // REQUIRES: storage.map() != nullptr; `model` and `storage` outlive this.
  // lock_memory: mlock the whole file's memory; failure is an Error naming
  // RLIMIT_MEMLOCK.
  MappedWeights(const Model& model, const storage::Storage& storage, Kind kind, bool lock_memory);

  void begin_pass(int32_t) override {}
  StepWeights acquire(int32_t step_index) override;
  void release(int32_t) override {}
  void gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                   float* out) override;
  void end_pass() override {}
  WeightStats stats() const override;

 private:
  const Model& model_;
  const storage::Storage& storage_;
  const uint8_t* base_;
  Kind kind_;
  bool locked_ = false;
};

// Converts row `row` of `table`, whose bytes start at `table_data`, to floats.
void dequantize_row(const gguf::TensorInfo& table, const uint8_t* table_data, int64_t row,
                    float* out);

}  // namespace flashslim
