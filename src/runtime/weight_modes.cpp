#include "runtime/weight_modes.h"

#include "core/error.h"
#include "runtime/mapped_weights.h"

namespace flashslim {

const char* weight_mode_name(WeightMode mode) {
  switch (mode) {
    case WeightMode::Resident: return "resident";
    case WeightMode::Mmap: return "mmap";
  }
  return "?";
}

WeightMode parse_weight_mode(std::string_view name) {
  for (WeightMode m : {WeightMode::Resident, WeightMode::Mmap})
    if (name == weight_mode_name(m)) return m;
  fail("--mode '{}': expected resident or mmap", name);
}

OpenedWeights open_weights(const Model& model, WeightMode mode) {
  OpenedWeights w;
  const auto kind = mode == WeightMode::Resident ? storage::StorageKind::WholeFile
                                                 : storage::StorageKind::Mmap;
  w.storage = storage::open_storage(model.file().path, kind);
  w.access = std::make_unique<MappedWeights>(model, *w.storage);
  return w;
}

}  // namespace flashslim
