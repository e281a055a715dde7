#include "runtime/mapped_weights.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "gguf/tensor_class.h"
#include "storage/storage.h"

namespace flashslim {

void dequantize_row(const gguf::TensorInfo& table, const uint8_t* table_data, int64_t row,
                    float* out) {
  type_traits(table.type).to_float(table_data + row * table.row_bytes(), out, table.cols());
}

MappedWeights::MappedWeights(const Model& model, const storage::Storage& storage, Kind kind,
                             bool lock_memory)
    : model_(model), storage_(storage), base_(storage.map()), kind_(kind) {
  if (!base_) fail("internal: MappedWeights needs a mapped storage ({})", storage.description());
  if (lock_memory) {
    if (mlock(base_, storage.size()) != 0)
      fail(
          "cannot mlock the {} bytes of {}: {} (raise RLIMIT_MEMLOCK with `ulimit -l unlimited`, "
          "run with CAP_IPC_LOCK, or pass --no-mlock)",
          storage.size(), storage.path(), std::strerror(errno));
    locked_ = true;
  }
}

WeightStats MappedWeights::stats() const {
  WeightStats s;
  s.storage = storage_.description();
  s.mlock_ok = locked_;
  if (kind_ == Kind::Loaded) {
    s.resident_bytes = storage_.size();
    for (const gguf::TensorInfo& t : model_.file().tensors)
      s.resident_by_class[gguf::tensor_class_name(gguf::classify(t.name))] += t.nbytes;
  }
  return s;
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
