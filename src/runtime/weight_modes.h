#pragma once
// How a run gets its weights: the --mode flag. Every mode gives the forward
// pass the same bytes, so logits are bitwise identical across modes.
#include <memory>
#include <string>
#include <string_view>

#include "model/model.h"
#include "model/weight_access.h"
#include "storage/storage.h"

namespace flashslim {

enum class WeightMode {
  Resident,  // whole file read into memory at load
  Mmap,      // MAP_SHARED mapping, OS page faults (llama.cpp's default)
};
const char* weight_mode_name(WeightMode mode);
WeightMode parse_weight_mode(std::string_view name);  // Error lists the accepted names

// The storage and the WeightAccess over it; the access refers to the storage.
struct OpenedWeights {
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<WeightAccess> access;
};
OpenedWeights open_weights(const Model& model, WeightMode mode);

}  // namespace flashslim
