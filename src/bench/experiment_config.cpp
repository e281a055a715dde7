#include "bench/experiment_config.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>

#include "core/error.h"

namespace flashslim::bench {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 4> kModes = {"resident", "mmap", "sync", "stream"};
// Names a place in the document for error messages: "experiment.json: variants[1].ctx[0]".
class Where {
 public:
  Where(std::string source, std::string path)
      : source_(std::move(source)), path_(std::move(path)) {}
  Where key(std::string_view k) const {
    return {source_, path_.empty() ? std::string(k) : path_ + "." + std::string(k)};
  }
  Where at(size_t i) const { return {source_, path_ + "[" + std::to_string(i) + "]"}; }
  std::string str() const { return path_.empty() ? source_ : source_ + ": " + path_; }

 private:
  std::string source_, path_;
};

// "budgets[2] = '12Q'" for strings, "threads[0] = 2.5" for other values.
std::string shown(const json& value) {
  return value.is_string() ? "'" + value.get<std::string>() + "'" : value.dump();
}

[[noreturn]] void bad(const Where& where, const json& value, std::string_view expected) {
  fail("{} = {}: expected {}", where.str(), shown(value), expected);
}

int get_int(const json& value, const Where& where, int min, int max) {
  if (!value.is_number_integer())
    bad(where, value, fmt::format("an integer in [{}, {}]", min, max));
  const int64_t v = value.get<int64_t>();
  if (v < min || v > max) bad(where, value, fmt::format("an integer in [{}, {}]", min, max));
  return static_cast<int>(v);
}

double get_number(const json& value, const Where& where, double min, double max) {
  if (!value.is_number()) bad(where, value, fmt::format("a number in [{}, {}]", min, max));
  const double v = value.get<double>();
  if (v < min || v > max) bad(where, value, fmt::format("a number in [{}, {}]", min, max));
  return v;
}

bool get_bool(const json& value, const Where& where) {
  if (!value.is_boolean()) bad(where, value, "true or false");
  return value.get<bool>();
}

std::string get_string(const json& value, const Where& where) {
  if (!value.is_string() || value.get<std::string>().empty())
    bad(where, value, "a non-empty string");
  return value.get<std::string>();
}

// Axes are non-empty arrays; a single value is accepted as a one-element axis.
template <typename T, typename ParseItem>
std::vector<T> get_axis(const json& value, const Where& where, ParseItem parse_item) {
  std::vector<T> items;
  if (!value.is_array()) {
    items.push_back(parse_item(value, where));
    return items;
  }
  if (value.empty()) bad(where, value, "a non-empty array");
  for (size_t i = 0; i < value.size(); ++i) items.push_back(parse_item(value[i], where.at(i)));
  return items;
}

ModelSpec parse_model(const json& value, const Where& where) {
  ModelSpec model;
  if (value.is_string()) {
    model.path = get_string(value, where);
    return model;
  }
  if (!value.is_object()) bad(where, value, "a file path or an object with \"path\" or \"gen\"");
  for (const auto& [key, item] : value.items()) {
    if (key == "path")
      model.path = get_string(item, where.key(key));
    else if (key == "gen")
      model.gen_preset = get_string(item, where.key(key));
    else if (key == "type")
      model.gen_type = get_string(item, where.key(key));
    else
      fail("{}: unknown key '{}' (known: path, gen, type)", where.str(), key);
  }
  if (model.path.empty() == model.gen_preset.empty())
    bad(where, value, "exactly one of \"path\" and \"gen\"");
  if (!model.gen_preset.empty() && model.gen_type.empty()) model.gen_type = "Q4_0";
  if (!model.path.empty() && !model.gen_type.empty())
    fail("{}: \"type\" applies to generated models (\"gen\") only", where.str());
  return model;
}

BudgetSpec parse_budget(const json& value, const Where& where) {
  BudgetSpec budget;
  if (value.is_number_unsigned()) {
    budget.text = value.dump();
  } else if (value.is_string()) {
    budget.text = value.get<std::string>();
  } else {
    bad(where, value, "\"none\", bytes with K/M/G suffix or a percentage");
  }
  if (budget.text == "none") return budget;
  try {
    budget.size = parse_size_spec(budget.text);
  } catch (const Error& e) {
    fail("{} = {}", where.str(), e.what());
  }
  if (!budget.size->is_percent && budget.size->bytes == 0)
    bad(where, value, "a budget above 0 bytes");
  return budget;
}

SamplingSpec parse_sampling(const json& value, const Where& where) {
  if (!value.is_object())
    bad(where, value, "an object with name, temperature, top_k, top_p, min_p, seed");
  SamplingSpec s;
  for (const auto& [key, item] : value.items()) {
    const Where w = where.key(key);
    if (key == "name")
      s.name = get_string(item, w);
    else if (key == "temperature")
      s.temperature = get_number(item, w, 0, 100);
    else if (key == "top_k")
      s.top_k = get_int(item, w, 0, 1 << 30);
    else if (key == "top_p")
      s.top_p = get_number(item, w, 0, 1);
    else if (key == "min_p")
      s.min_p = get_number(item, w, 0, 1);
    else if (key == "seed")
      s.seed = static_cast<uint64_t>(get_number(item, w, 0, 9007199254740992.0));
    else
      fail("{}: unknown key '{}' (known: name, temperature, top_k, top_p, min_p, seed)",
           where.str(), key);
  }
  if (s.name.empty()) fail("{}: missing \"name\"", where.str());
  return s;
}

std::string parse_mode(const json& value, const Where& where) {
  const std::string mode = value.is_string() ? value.get<std::string>() : "";
  if (std::find(kModes.begin(), kModes.end(), mode) == kModes.end())
    bad(where, value, "one of resident, mmap, sync, stream");
  return mode;
}

// Sets the keys present in `object` (the top level or one variant) on `s`.
void apply_settings(VariantSettings& s, const json& object, const Where& where) {
  auto ints = [](int min, int max) {
    return [min, max](const json& v, const Where& w) { return get_int(v, w, min, max); };
  };
  for (const auto& [key, value] : object.items()) {
    const Where w = where.key(key);
    if (key == "models")
      s.models = get_axis<ModelSpec>(value, w, parse_model);
    else if (key == "modes")
      s.modes = get_axis<std::string>(value, w, parse_mode);
    else if (key == "budgets")
      s.budgets = get_axis<BudgetSpec>(value, w, parse_budget);
    else if (key == "threads")
      s.threads = get_axis<int>(value, w, ints(1, 1024));
    else if (key == "ctx")
      s.ctx = get_axis<int>(value, w, ints(1, 1 << 24));
    else if (key == "prompt_tokens")
      s.prompt_tokens = get_axis<int>(value, w, ints(1, 1 << 24));
    else if (key == "gen_tokens")
      s.gen_tokens = get_axis<int>(value, w, ints(1, 1 << 24));
    else if (key == "sampling")
      s.sampling = get_axis<SamplingSpec>(value, w, parse_sampling);
    else if (key == "background_load")
      s.background_load = get_axis<int>(value, w, ints(0, 100));
    else if (key == "repetitions")
      s.repetitions = get_int(value, w, 1, 1000000);
    else if (key == "warmup")
      s.warmup = get_int(value, w, 0, 1000000);
    else if (key == "cpus") {
      if (!value.is_array()) bad(w, value, "an array of CPU numbers ([] = not pinned)");
      s.cpus.clear();
      for (size_t i = 0; i < value.size(); ++i)
        s.cpus.push_back(get_int(value[i], w.at(i), 0, 1023));
      if (std::set<int>(s.cpus.begin(), s.cpus.end()).size() != s.cpus.size())
        bad(w, value, "distinct CPU numbers");
    } else if (key == "mlock") {
      if (value.is_null())
        s.mlock.reset();
      else
        s.mlock = get_bool(value, w);
    } else if (key == "cold_cache")
      s.cold_cache = get_bool(value, w);
    else if (key == "read_ahead_kb") {
      if (value.is_null())
        s.read_ahead_kb.reset();
      else
        s.read_ahead_kb = static_cast<uint64_t>(get_int(value, w, 0, 1 << 30));
    } else if (key == "timeout_s")
      s.timeout_s = get_number(value, w, 0.001, 1e9);
    else if (key == "profile_ops")
      s.profile_ops = get_bool(value, w);
    else if (key == "trace")
      s.trace = get_bool(value, w);
    else if (key != "name")
      fail("{}: unknown key '{}'", where.str(), key);
  }
}

void check_complete(const VariantSettings& s, const Where& where) {
  if (s.models.empty()) fail("{}: missing \"models\"", where.str());
  if (s.modes.empty()) fail("{}: missing \"modes\"", where.str());
}

VariantSettings default_settings() {
  VariantSettings s;
  s.budgets = {BudgetSpec{"none", std::nullopt}};
  s.threads = {2};
  s.ctx = {512};
  s.prompt_tokens = {128};
  s.gen_tokens = {64};
  s.sampling = {SamplingSpec{"greedy"}};
  s.background_load = {0};
  return s;
}

}  // namespace

std::string ModelSpec::label() const {
  if (!path.empty()) return std::filesystem::path(path).stem().string();
  return gen_preset + "-" + gen_type;
}

std::optional<uint64_t> BudgetSpec::resolve(uint64_t model_bytes) const {
  if (!size) return std::nullopt;
  return size->resolve(model_bytes);
}

ExperimentConfig parse_experiment_config(const json& document, const std::string& source) {
  const Where top(source, "");
  if (!document.is_object()) fail("{}: expected a JSON object at the top level", source);
  ExperimentConfig config;
  config.name = document.contains("name") ? get_string(document["name"], top.key("name"))
                                          : std::filesystem::path(source).stem().string();
  if (document.contains("machine_floor"))
    config.machine_floor = get_bool(document["machine_floor"], top.key("machine_floor"));
  if (document.contains("disk_floor"))
    config.disk_floor = get_bool(document["disk_floor"], top.key("disk_floor"));
  json settings = document;
  settings.erase("variants");
  settings.erase("machine_floor");
  settings.erase("disk_floor");
  VariantSettings base = default_settings();
  apply_settings(base, settings, top);

  if (!document.contains("variants")) {
    check_complete(base, top);
    config.variants.push_back(base);
    return config;
  }
  const json& variants = document["variants"];
  const Where vw = top.key("variants");
  if (!variants.is_array() || variants.empty()) bad(vw, variants, "a non-empty array of objects");
  std::set<std::string> names;
  for (size_t i = 0; i < variants.size(); ++i) {
    const Where w = vw.at(i);
    const json& variant = variants[i];
    if (!variant.is_object()) bad(w, variant, "an object with \"name\" and settings to override");
    if (!variant.contains("name")) fail("{}: missing \"name\"", w.str());
    VariantSettings s = base;
    s.name = get_string(variant["name"], w.key("name"));
    if (!names.insert(s.name).second) fail("{}: variant name '{}' is used twice", w.str(), s.name);
    apply_settings(s, variant, w);
    check_complete(s, w);
    config.variants.push_back(std::move(s));
  }
  return config;
}

ExperimentConfig load_experiment_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open experiment config {}", path.string());
  json document;
  try {
    document = json::parse(in);
  } catch (const json::parse_error& e) {
    fail("{}: invalid JSON: {}", path.string(), e.what());
  }
  ExperimentConfig config = parse_experiment_config(document, path.filename().string());
  // A model path in a config file names a file relative to the config, not to wherever
  // the experiment is started from.
  for (VariantSettings& variant : config.variants)
    for (ModelSpec& model : variant.models)
      if (!model.path.empty() && std::filesystem::path(model.path).is_relative())
        model.path = (path.parent_path() / model.path).lexically_normal().string();
  return config;
}

std::string RunSpec::configuration_label() const {
  std::string label = variant.empty() ? "" : variant + " ";
  label +=
      fmt::format("{} {} budget={} t{} ctx{} p{} n{} {} load{}", model.label(), mode, budget.text,
                  threads, ctx, prompt_tokens, gen_tokens, sampling.name, background_load);
  return label;
}

std::vector<RunSpec> expand_runs(const ExperimentConfig& config) {
  // Every configuration once, in axis order (models outermost, background load innermost).
  std::vector<RunSpec> configurations;
  std::vector<std::pair<int, int>> rounds;  // (warmup, repetitions) per configuration
  for (const VariantSettings& v : config.variants) {
    for (const ModelSpec& model : v.models)
      for (const std::string& mode : v.modes)
        for (const BudgetSpec& budget : v.budgets)
          for (int threads : v.threads)
            for (int ctx : v.ctx)
              for (int prompt : v.prompt_tokens)
                for (int gen : v.gen_tokens)
                  for (const SamplingSpec& sampling : v.sampling)
                    for (int load : v.background_load) {
                      RunSpec run;
                      run.config_index = configurations.size();
                      run.variant = v.name;
                      run.model = model;
                      run.mode = mode;
                      run.budget = budget;
                      run.threads = threads;
                      run.ctx = ctx;
                      run.prompt_tokens = prompt;
                      run.gen_tokens = gen;
                      run.sampling = sampling;
                      run.background_load = load;
                      run.cpus = v.cpus;
                      run.mlock = v.mlock;
                      run.cold_cache = v.cold_cache;
                      run.read_ahead_kb = v.read_ahead_kb;
                      run.timeout_s = v.timeout_s;
                      run.profile_ops = v.profile_ops;
                      run.trace = v.trace;
                      configurations.push_back(std::move(run));
                      rounds.emplace_back(v.warmup, v.repetitions);
                    }
  }
  std::vector<RunSpec> runs;
  auto add_rounds = [&](bool warmup) {
    int max_rounds = 0;
    for (const auto& [w, r] : rounds) max_rounds = std::max(max_rounds, warmup ? w : r);
    for (int round = 0; round < max_rounds; ++round)
      for (size_t c = 0; c < configurations.size(); ++c) {
        if (round >= (warmup ? rounds[c].first : rounds[c].second)) continue;
        RunSpec run = configurations[c];
        run.index = runs.size();
        run.repetition = round;
        run.warmup = warmup;
        runs.push_back(std::move(run));
      }
  };
  add_rounds(true);
  add_rounds(false);
  return runs;
}

nlohmann::json to_json(const RunSpec& run) {
  json model = run.model.path.empty()
                   ? json{{"gen", run.model.gen_preset}, {"type", run.model.gen_type}}
                   : json{{"path", run.model.path}};
  model["label"] = run.model.label();
  return {{"index", run.index},
          {"config_index", run.config_index},
          {"configuration", run.configuration_label()},
          {"repetition", run.repetition},
          {"warmup", run.warmup},
          {"variant", run.variant},
          {"model", model},
          {"mode", run.mode},
          {"budget", run.budget.text},
          {"threads", run.threads},
          {"ctx", run.ctx},
          {"prompt_tokens", run.prompt_tokens},
          {"gen_tokens", run.gen_tokens},
          {"sampling",
           {{"name", run.sampling.name},
            {"temperature", run.sampling.temperature},
            {"top_k", run.sampling.top_k},
            {"top_p", run.sampling.top_p},
            {"min_p", run.sampling.min_p},
            {"seed", run.sampling.seed}}},
          {"background_load", run.background_load},
          {"cpus", run.cpus},
          {"mlock", run.mlock ? json(*run.mlock) : json(nullptr)},
          {"cold_cache", run.cold_cache},
          {"read_ahead_kb", run.read_ahead_kb ? json(*run.read_ahead_kb) : json(nullptr)},
          {"timeout_s", run.timeout_s},
          {"profile_ops", run.profile_ops},
          {"trace", run.trace}};
}

}  // namespace flashslim::bench
