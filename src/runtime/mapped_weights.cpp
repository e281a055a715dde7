#include "runtime/mapped_weights.h"

#include "core/error.h"

namespace flashslim {

void dequantize_row(const gguf::TensorInfo& table, const uint8_t* table_data, int64_t row,
                    float* out) {
  type_traits(table.type).to_float(table_data + row * table.row_bytes(), out, table.cols());
}

MappedWeights::MappedWeights(const Model& model, const storage::Storage& storage)
    : model_(model), base_(storage.map()) {
  if (!base_) fail("internal: MappedWeights needs a mapped storage ({})", storage.description());
}

StepWeights MappedWeights::acquire(int32_t step_index) {
  const Step& step = model_.schedule().steps.at(step_index);
  StepWeights w;
  for (int s = 0; s < slot::kCount; ++s) {
    const gguf::TensorInfo* t = step.tensors[s];
    if (!t) continue;
    WeightView& v = w.tensors[s];
    v.info = t;
    v.parts[0] = RowRange{0, t->rows(), base_ + t->offset};
    v.n_parts = 1;
  }
  return w;
}

void MappedWeights::gather_rows(const gguf::TensorInfo& table, std::span<const int32_t> ids,
                                float* out) {
  for (size_t i = 0; i < ids.size(); ++i)
    dequantize_row(table, base_ + table.offset, ids[i], out + i * table.cols());
}

}  // namespace flashslim
