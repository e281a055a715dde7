#include "model/model.h"

namespace flashslim {

Model::Model(const std::string& path)
    : file_(gguf::read_file(path)),
      hparams_(read_hparams(file_)),
      schedule_(build_schedule(file_, hparams_)) {}

}  // namespace flashslim
