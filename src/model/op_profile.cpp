#include "model/op_profile.h"

namespace flashslim {

std::string_view op_class_name(OpClass c) {
  switch (c) {
    case OpClass::Weights:
      return "weights";
    case OpClass::NormRope:
      return "norm_rope";
    case OpClass::AttnProj:
      return "attn_proj";
    case OpClass::Attention:
      return "attention";
    case OpClass::FfnProj:
      return "ffn_proj";
    case OpClass::Head:
      return "head";
  }
  return "?";
}

nlohmann::json op_times_json(const OpProfile& from, const OpProfile& to, size_t index) {
  nlohmann::json line = {{"i", index}};
  for (size_t c = 0; c < kOpClassCount; ++c)
    line[std::string(op_class_name(static_cast<OpClass>(c))) + "_ns"] = to.ns[c] - from.ns[c];
  line["laps"] = to.laps - from.laps;
  return line;
}

}  // namespace flashslim
