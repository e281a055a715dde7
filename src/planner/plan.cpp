#include "planner/plan.h"

#include "core/error.h"
#include "planner/json_fields.h"

namespace flashslim::planner {

namespace {

nlohmann::json to_json(const TensorRows& r) {
  return {{"tensor", r.tensor},
          {"row_begin", r.row_begin},
          {"row_end", r.row_end},
          {"file_offset", r.file_offset},
          {"bytes", r.bytes}};
}

TensorRows tensor_rows_from_json(const JsonFields& f) {
  TensorRows r;
  r.tensor = f.string("tensor");
  r.row_begin = f.i64("row_begin");
  r.row_end = f.i64("row_end");
  r.file_offset = f.u64("file_offset");
  r.bytes = f.u64("bytes");
  if (r.row_begin < 0 || r.row_end < r.row_begin)
    f.fail_at("row_end", "row range is empty or negative");
  return r;
}

nlohmann::json to_json(const PhasePlan& p, const std::vector<std::string>& step_names) {
  nlohmann::json chunks = nlohmann::json::array();
  for (size_t k = 0; k < p.chunks.size(); ++k) {
    const Chunk& c = p.chunks[k];
    nlohmann::json parts = nlohmann::json::array();
    for (const TensorRows& r : c.parts) parts.push_back(to_json(r));
    const ChunkPrediction& t = p.timeline.chunks[k];
    chunks.push_back({{"id", c.id},
                      {"first_step", c.first_step},
                      {"last_step", c.last_step},
                      {"steps", step_names[c.first_step] + " .. " + step_names[c.last_step]},
                      {"slot", c.slot},
                      {"bytes", c.bytes},
                      {"tensors", parts},
                      {"t_io_ms", t.t_io_ms},
                      {"t_compute_ms", t.t_compute_ms},
                      {"stall_ms", t.stall_ms}});
  }
  const SimulationResult& s = p.timeline;
  return {{"batch", p.batch},           {"tokens_per_s", p.tokens_per_s()},
          {"pass_ms", s.pass_ms},       {"first_pass_ms", s.first_pass_ms},
          {"compute_ms", s.compute_ms}, {"io_ms", s.io_ms},
          {"stall_ms", s.stall_ms},     {"chunks", chunks}};
}

PhasePlan phase_from_json(const JsonFields& f, const std::string& phase, size_t n_steps) {
  PhasePlan p;
  p.phase = phase;
  p.batch = static_cast<int32_t>(f.i64("batch"));
  if (p.batch < 1) f.fail_at("batch", "must be at least 1");
  p.timeline.pass_ms = f.number("pass_ms");
  p.timeline.first_pass_ms = f.number("first_pass_ms");
  p.timeline.compute_ms = f.number("compute_ms");
  p.timeline.io_ms = f.number("io_ms");
  p.timeline.stall_ms = f.number("stall_ms");
  const size_t n = f.array("chunks").size();
  int32_t first_step_before = 0;  // as the runtime: first steps non-decreasing
  for (size_t k = 0; k < n; ++k) {
    const JsonFields c = f.element("chunks", k);
    Chunk chunk;
    chunk.id = static_cast<int32_t>(c.i64("id"));
    if (chunk.id != static_cast<int32_t>(k))
      c.fail_at("id", fmt::format("expected {} (chunks are numbered in order)", k));
    chunk.first_step = static_cast<int32_t>(c.i64("first_step"));
    chunk.last_step = static_cast<int32_t>(c.i64("last_step"));
    if (chunk.first_step < first_step_before || chunk.last_step < chunk.first_step ||
        chunk.last_step >= static_cast<int32_t>(n_steps))
      c.fail_at("last_step", fmt::format("steps {}..{} are out of order or outside the {} steps",
                                         chunk.first_step, chunk.last_step, n_steps));
    first_step_before = chunk.first_step;
    chunk.slot = static_cast<int32_t>(c.i64("slot"));
    chunk.bytes = c.u64("bytes");
    uint64_t sum = 0;
    for (size_t i = 0; i < c.array("tensors").size(); ++i) {
      chunk.parts.push_back(tensor_rows_from_json(c.element("tensors", i)));
      sum += chunk.parts.back().bytes;
    }
    if (sum != chunk.bytes)
      c.fail_at("bytes", fmt::format("is {} but its tensors add up to {}", chunk.bytes, sum));
    ChunkPrediction t;
    t.t_io_ms = c.number("t_io_ms");
    t.t_compute_ms = c.number("t_compute_ms");
    t.stall_ms = c.number("stall_ms");
    p.chunks.push_back(std::move(chunk));
    p.timeline.chunks.push_back(t);
  }
  return p;
}

nlohmann::json to_json(const MemoryUse& m, uint64_t budget) {
  return {{"resident_weights", m.resident_weights},
          {"slots", m.slots},
          {"forward", m.forward},
          {"scratch", m.scratch},
          {"overhead", m.overhead},
          {"peak", m.total()},
          {"budget", budget}};
}

}  // namespace

nlohmann::json to_json(const Plan& p) {
  nlohmann::json resident = nlohmann::json::array();
  for (const ResidentRows& r : p.resident) {
    nlohmann::json entry = to_json(r.rows);
    entry["rows_total"] = r.rows_total;
    resident.push_back(entry);
  }
  nlohmann::json prefill = nlohmann::json::array();
  for (const PhasePlan& ph : p.prefill) prefill.push_back(to_json(ph, p.step_names));
  nlohmann::json prefill_tps = nlohmann::json::object();
  for (const PhasePlan& ph : p.prefill) prefill_tps[std::to_string(ph.batch)] = ph.tokens_per_s();
  return {
      {"format_version", kPlanFormatVersion},
      {"model", to_json(p.model)},
      {"budget_bytes", p.budget_bytes},
      {"run",
       {{"threads", p.shape.threads},
        {"n_ctx", p.shape.n_ctx},
        {"n_batch", p.shape.n_batch},
        {"kv_type", p.shape.kv_type}}},
      {"profile_source", p.profile_source},
      {"step_names", p.step_names},
      {"residency",
       {{"policy", residency_policy_name(p.policy)},
        {"reason", p.residency_reason},
        {"budget_left_bytes", p.budget_left()},
        {"tensors", resident}}},
      {"prefetch",
       {{"n_slots", p.n_slots},
        {"slot_bytes", p.slot_bytes},
        {"window", p.window},
        {"issue_order",
         "chunk id order, cyclic across tokens; chunk k is issued once chunk k-window is in use "
         "and its slot is free"},
        {"assumed_read",
         {{"read_bytes", p.read.read_bytes},
          {"queue_depth", p.read.queue_depth},
          {"gb_per_s", p.read.gb_per_s}}}}},
      {"cmt", {{"decode", to_json(p.decode, p.step_names)}, {"prefill", prefill}}},
      {"predictions",
       {{"decode_tokens_per_s", p.decode.tokens_per_s()},
        {"prefill_tokens_per_s", prefill_tps},
        {"bound_tokens_per_s", p.bound_tokens_per_s},
        {"streamed_bytes_per_token", p.streamed_bytes_per_token},
        {"peak_memory", to_json(p.memory, p.budget_bytes)}}},
  };
}

Plan plan_from_json(const nlohmann::json& value, const std::string& file) {
  const JsonFields top(value, file);
  check_format_version(top, kPlanFormatVersion);
  Plan p;
  p.model = model_identity_from_json(top.object("model"));
  p.budget_bytes = top.u64("budget_bytes");
  const JsonFields run = top.object("run");
  p.shape.threads = static_cast<int32_t>(run.i64("threads"));
  p.shape.n_ctx = static_cast<int32_t>(run.i64("n_ctx"));
  p.shape.n_batch = static_cast<int32_t>(run.i64("n_batch"));
  p.shape.kv_type = run.string("kv_type");
  if (p.shape.threads < 1 || p.shape.n_ctx < 1 || p.shape.n_batch < 1)
    run.fail_at("threads", "threads, n_ctx and n_batch must be at least 1");
  p.profile_source = top.string("profile_source");
  const auto& names = top.array("step_names");
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string()) top.fail_at(fmt::format("step_names[{}]", i), "expected a string");
    p.step_names.push_back(names[i].get<std::string>());
  }

  const JsonFields residency = top.object("residency");
  try {
    p.policy = parse_residency_policy(residency.string("policy"));
  } catch (const Error& e) {
    residency.fail_at("policy", e.what());
  }
  p.residency_reason = residency.string("reason");
  for (size_t i = 0; i < residency.array("tensors").size(); ++i) {
    const JsonFields t = residency.element("tensors", i);
    p.resident.push_back({tensor_rows_from_json(t), t.i64("rows_total")});
  }

  const JsonFields prefetch = top.object("prefetch");
  p.n_slots = static_cast<int32_t>(prefetch.i64("n_slots"));
  p.slot_bytes = prefetch.u64("slot_bytes");
  p.window = static_cast<int32_t>(prefetch.i64("window"));
  const JsonFields read = prefetch.object("assumed_read");
  p.read = {read.u64("read_bytes"), static_cast<uint32_t>(read.u64("queue_depth")),
            read.number("gb_per_s")};
  // The runtime splits reads at read_bytes (see StreamingOptions).
  if (p.read.read_bytes < kStreamReadAlignment || (p.read.read_bytes & (p.read.read_bytes - 1)))
    read.fail_at("read_bytes",
                 fmt::format("must be a power of two of at least {} bytes", kStreamReadAlignment));
  if (p.read.queue_depth < 1) read.fail_at("queue_depth", "must be at least 1");

  const JsonFields cmt = top.object("cmt");
  p.decode = phase_from_json(cmt.object("decode"), "decode", p.step_names.size());
  for (size_t i = 0; i < cmt.array("prefill").size(); ++i)
    p.prefill.push_back(phase_from_json(cmt.element("prefill", i), "prefill", p.step_names.size()));
  for (const PhasePlan* phase : {&p.decode}) {
    for (const Chunk& c : phase->chunks) {
      if (c.slot < 0 || c.slot >= p.n_slots)
        prefetch.fail_at("n_slots",
                         fmt::format("chunk {} uses slot {} of {}", c.id, c.slot, p.n_slots));
      if (c.bytes > p.slot_bytes)
        prefetch.fail_at("slot_bytes", fmt::format("{} is smaller than chunk {} ({} bytes)",
                                                   p.slot_bytes, c.id, c.bytes));
    }
  }
  if (!p.decode.chunks.empty() && (p.n_slots < 1 || p.window < 1))
    prefetch.fail_at("window", "a plan with chunks needs at least one slot and a window of 1");

  const JsonFields predictions = top.object("predictions");
  p.bound_tokens_per_s = predictions.number("bound_tokens_per_s");
  p.streamed_bytes_per_token = predictions.u64("streamed_bytes_per_token");
  const JsonFields memory = predictions.object("peak_memory");
  p.memory.resident_weights = memory.u64("resident_weights");
  p.memory.slots = memory.u64("slots");
  p.memory.forward = memory.u64("forward");
  p.memory.scratch = memory.u64("scratch");
  p.memory.overhead = memory.u64("overhead");
  if (p.memory.total() > p.budget_bytes)
    memory.fail_at(
        "peak", fmt::format("{} exceeds the budget of {} bytes", p.memory.total(), p.budget_bytes));
  return p;
}

void save_plan(const Plan& plan, const std::string& path) { save_json(path, to_json(plan)); }

Plan load_plan(const std::string& path) { return plan_from_json(load_json_file(path), path); }

void check_plan_matches(const Plan& plan, const std::string& plan_path, const ModelIdentity& model,
                        uint64_t budget_bytes, const RunShape& run) {
  const std::string diff = describe_difference(plan.model, model);
  if (!diff.empty()) fail("{} was made for another model: {}", plan_path, diff);
  if (plan.budget_bytes != budget_bytes)
    fail(
        "{} was made for a budget of {} bytes, but --budget is {} bytes (make a new plan with "
        "`flashslim plan --budget ...`)",
        plan_path, plan.budget_bytes, budget_bytes);
  // A larger context or batch needs more memory than the plan left room for.
  if (run.n_ctx > plan.shape.n_ctx)
    fail("{} was made for a context of {} tokens, but the run uses -c {} (plan with -c {})",
         plan_path, plan.shape.n_ctx, run.n_ctx, run.n_ctx);
  if (run.n_batch > plan.shape.n_batch)
    fail("{} was made for batches of {} tokens, but the run uses -b {} (plan with -b {})",
         plan_path, plan.shape.n_batch, run.n_batch, run.n_batch);
  if (run.kv_type != plan.shape.kv_type)
    fail("{} was made for a {} KV cache, but the run uses --kv-type {}", plan_path,
         plan.shape.kv_type, run.kv_type);
}

StreamPlan to_stream_plan(const Plan& p) {
  StreamPlan s;
  s.budget_bytes = p.budget_bytes;
  s.policy = p.policy;
  for (const ResidentRows& r : p.resident) s.resident.push_back(r.rows);
  s.chunks = p.decode.chunks;
  s.n_slots = p.n_slots;
  s.slot_bytes = p.slot_bytes;
  s.window = p.window;
  return s;
}

PlannedStream to_planned_stream(const Plan& plan) {
  return {to_stream_plan(plan), plan.read.queue_depth, plan.read.read_bytes, plan.memory.overhead};
}

}  // namespace flashslim::planner
