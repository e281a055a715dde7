// `flashslim inspect -m FILE [--json]`: what a GGUF file holds (architecture,
// hyper-parameters, tokenizer, metadata, tensor table) and where its bytes go
// (per tensor class and per layer). The text output is rendered from the same
// JSON object that --json prints, so both always agree.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "gguf/gguf.h"
#include "gguf/tensor_class.h"

namespace flashslim::cli {
namespace {

using nlohmann::ordered_json;

// float32 values go through their shortest decimal form, so 1e-5f prints as
// 1e-05 rather than the double 9.999999747378752e-06.
double float32_value(double f) { return std::stod(fmt::format("{}", static_cast<float>(f))); }

ordered_json scalar_json(const gguf::Value& v) {
  using gguf::ValueType;
  if (v.type == ValueType::STRING) return v.s;
  if (v.type == ValueType::BOOL) return v.u != 0;
  if (v.type == ValueType::FLOAT32) return float32_value(v.f);
  if (gguf::is_float_type(v.type)) return v.f;
  if (gguf::is_signed_type(v.type)) return v.i;
  return v.u;
}

// Arrays are summarized as "elemtype[len]" (vocabularies have ~10^5 entries).
ordered_json value_json(const gguf::Value& v) {
  if (v.type == gguf::ValueType::ARRAY)
    return fmt::format("{}[{}]", gguf::value_type_name(v.elem_type), v.array_size);
  return scalar_json(v);
}

ordered_json build_report(const gguf::File& f) {
  ordered_json r;
  r["file"] = f.path;
  r["version"] = f.version;
  r["file_size"] = f.file_size;
  r["alignment"] = f.alignment;
  r["data_offset"] = f.data_offset;
  const std::string arch = f.architecture();
  r["architecture"] = arch;

  const std::string prefix = arch + ".";
  ordered_json hparams = ordered_json::object();
  ordered_json metadata = ordered_json::array();
  for (const auto& [key, v] : f.meta.entries()) {
    if (key.starts_with(prefix)) hparams[key.substr(prefix.size())] = value_json(v);
    metadata.push_back(
        {{"key", key}, {"type", gguf::value_type_name(v.type)}, {"value", value_json(v)}});
  }
  r["hyperparameters"] = hparams;

  ordered_json tokenizer = ordered_json::object();
  if (auto model = f.meta.get_string("tokenizer.ggml.model")) tokenizer["model"] = *model;
  if (auto pre = f.meta.get_string("tokenizer.ggml.pre")) tokenizer["pre"] = *pre;
  if (const auto* tokens = f.meta.get_string_array("tokenizer.ggml.tokens"))
    tokenizer["vocab_size"] = tokens->size();
  r["tokenizer"] = tokenizer;
  r["metadata"] = metadata;

  ordered_json tensors = ordered_json::array();
  std::map<gguf::TensorClass, uint64_t> per_class;
  std::map<int, uint64_t> per_layer;
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : f.tensors) {
    ordered_json shape = ordered_json::array();
    for (uint32_t d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
    const gguf::TensorClass c = gguf::classify(t.name);
    tensors.push_back({{"name", t.name},
                       {"type", type_name(t.type)},
                       {"shape", shape},
                       {"offset", t.offset},
                       {"bytes", t.nbytes},
                       {"class", gguf::tensor_class_name(c)}});
    per_class[c] += t.nbytes;
    if (auto layer = gguf::layer_index(t.name)) per_layer[*layer] += t.nbytes;
    total += t.nbytes;
  }
  r["tensors"] = tensors;

  ordered_json classes = ordered_json::object();
  for (auto [c, bytes] : per_class) classes[gguf::tensor_class_name(c)] = bytes;
  ordered_json layers = ordered_json::array();
  for (auto [layer, bytes] : per_layer) layers.push_back({{"layer", layer}, {"bytes", bytes}});
  r["totals"] = {{"tensor_count", f.tensors.size()},
                 {"bytes", total},
                 {"bytes_per_class", classes},
                 {"bytes_per_layer", layers}};
  return r;
}

std::string mib(uint64_t bytes) { return fmt::format("{:.2f} MiB", bytes / 1048576.0); }

// Scalars as plain text (strings unquoted, cut to one short line).
std::string value_text(const ordered_json& v) {
  if (!v.is_string()) return v.dump();
  std::string s = v.get<std::string>();
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

void print_text(const ordered_json& r) {
  fmt::print("file: {} (GGUF v{}, {} bytes = {}, alignment {}, data at byte {})\n",
             r["file"].get<std::string>(), r["version"].get<int>(), r["file_size"].get<uint64_t>(),
             mib(r["file_size"]), r["alignment"].get<uint64_t>(), r["data_offset"].get<uint64_t>());
  fmt::print("architecture: {}\n", r["architecture"].get<std::string>());

  fmt::print("hyper-parameters:\n");
  for (const auto& [key, v] : r["hyperparameters"].items())
    fmt::print("  {:<36} {}\n", key, value_text(v));

  const ordered_json& tok = r["tokenizer"];
  fmt::print("tokenizer: {} (pre: {}), vocab {}\n", tok.value("model", "none"),
             tok.value("pre", "none"), tok.contains("vocab_size") ? tok["vocab_size"].dump() : "-");

  fmt::print("metadata ({} keys):\n", r["metadata"].size());
  for (const ordered_json& m : r["metadata"])
    fmt::print("  {:<40} {:<8} {}\n", m["key"].get<std::string>(), m["type"].get<std::string>(),
               value_text(m["value"]));

  fmt::print("tensors ({}):\n", r["tensors"].size());
  fmt::print("  {:<32} {:<5} {:<22} {:>12} {:>12}\n", "name", "type", "shape", "offset", "bytes");
  for (const ordered_json& t : r["tensors"]) {
    std::string shape;
    for (const auto& d : t["shape"]) shape += (shape.empty() ? "" : " x ") + d.dump();
    fmt::print("  {:<32} {:<5} {:<22} {:>12} {:>12}\n", t["name"].get<std::string>(),
               t["type"].get<std::string>(), shape, t["offset"].get<uint64_t>(),
               t["bytes"].get<uint64_t>());
  }

  const ordered_json& totals = r["totals"];
  const auto total = totals["bytes"].get<uint64_t>();
  fmt::print("bytes per class:\n");
  for (const auto& [name, bytes] : totals["bytes_per_class"].items())
    fmt::print("  {:<10} {:>12} {:>12} {:5.1f}%\n", name, bytes.get<uint64_t>(),
               mib(bytes.get<uint64_t>()), total ? 100.0 * bytes.get<uint64_t>() / total : 0.0);
  fmt::print("bytes per layer:\n");
  for (const ordered_json& l : totals["bytes_per_layer"])
    fmt::print("  blk.{:<6} {:>12} {:>12}\n", l["layer"].get<int>(), l["bytes"].get<uint64_t>(),
               mib(l["bytes"].get<uint64_t>()));
  fmt::print("total: {} bytes ({}) in {} tensors\n", total, mib(total),
             totals["tensor_count"].get<size_t>());
}

}  // namespace

void register_inspect_command(CLI::App& app) {
  struct Options {
    std::string model;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Show a GGUF file's architecture, hyper-parameters, tokenizer and tensors");
  cmd->add_option("-m,--model", opts->model, "GGUF file")->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of text");
  cmd->callback([opts] {
    const ordered_json report = build_report(gguf::read_file(opts->model));
    if (opts->json)
      fmt::print("{}\n", report.dump(2));
    else
      print_text(report);
  });
}

}  // namespace flashslim::cli
