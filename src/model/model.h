#pragma once
// A loaded model description: the validated GGUF index, hyper-parameters and
// the execution schedule. Holds no weight bytes (those come through a
// WeightAccess). Not copyable: the schedule points into the tensor index.
#include <string>

#include "gguf/gguf.h"
#include "model/hparams.h"
#include "model/schedule.h"

namespace flashslim {

class Model {
 public:
  explicit Model(const std::string& path);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const gguf::File& file() const { return file_; }
  const HParams& hparams() const { return hparams_; }
  const Schedule& schedule() const { return schedule_; }

 private:
  gguf::File file_;
  HParams hparams_;
  Schedule schedule_;
};

}  // namespace flashslim
