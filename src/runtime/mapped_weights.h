#pragma once
// WeightAccess over a model file that is entirely addressable in memory: the
// whole file read in (resident) or mmap'ed (pages fault in from the file on
// first touch, as llama.cpp does by default). acquire() is pointer arithmetic.
#include "model/model.h"
#include "model/weight_access.h"
#include "storage/storage.h"

namespace flashslim {

class MappedWeights : public WeightAccess {
 public:
  // REQUIRES: storage.map() != nullptr; `model` and `storage` outlive this.
  MappedWeights(const Model& model, const storage::Storage& storage);

  void begin_pass(int32_t) override {}
  StepWeights acquire(int32_t step_index) override;
  void release(int32_t) override {}
  void gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                   float* out) override;
  void end_pass() override {}

 private:
  const Model& model_;
  const uint8_t* base_;
};

// Converts row `row` of `table`, whose bytes start at `table_data`, to floats.
void dequantize_row(const gguf::TensorInfo& table, const uint8_t* table_data, int64_t row,
                    float* out);

}  // namespace flashslim
