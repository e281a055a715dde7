// `flashslim plan` then `flashslim run --plan` as a user runs them: the planned
// run streams and gives the resident run's logits bit for bit; a plan made for
// another model, budget, context or KV type, or with a broken schema, is
// refused before anything loads, with an error saying what differs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "test_support.h"

namespace flashslim::test {
namespace {

// Per process: ctest runs the test cases of this file in parallel processes.
std::string temp_path(const std::string& name) {
  return testing::TempDir() + "plan_run_test." + std::to_string(getpid()) + "." + name;
}

// A model with budgets where streaming beats keeping everything.
const std::string& model_path() {
  static const std::string path = [] {
    const std::string p = temp_path("8_layers.gguf");
    write_layer_heavy_model(p, 8);
    return p;
  }();
  return path;
}
const std::string kOtherModel = fixture("synth/tiny-llama-Q8_0.gguf");
const std::string kRunArgs = " -p 'Once upon a time' -n 6 --temp 0 --ignore-eos -c 64 -t 2";

// stdout and stderr together.
CommandResult flashslim(const std::string& args) { return run_flashslim(args, true); }

// The smallest budget the planner accepts for model_path() at -c 64, from its
// refusal of a 1-byte budget ("... below the minimum of N bytes ...").
uint64_t minimum_budget() {
  const CommandResult r =
      flashslim("plan -m " + model_path() + " --budget 1 -c 64 -t 2 -o /dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("minimum of (\\d+) bytes"))) {
    ADD_FAILURE() << "no minimum in: " << r.out;
    return 0;
  }
  return std::stoull(m[1]);
}

// A plan halfway between the minimum and the whole file, written once per process.
struct PlanFile {
  std::string path;
  uint64_t budget;
};
const PlanFile& plan_file() {
  static const PlanFile plan = [] {
    PlanFile p{temp_path("plan.json"),
               minimum_budget() + std::filesystem::file_size(model_path()) / 2};
    const CommandResult r = flashslim("plan -m " + model_path() + " --budget " +
                                      std::to_string(p.budget) + " -c 64 -t 2 -o " + p.path);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return p;
  }();
  return plan;
}

TEST(PlanRun, PlannedRunStreamsAndMatchesResidentLogits) {
  const PlanFile& plan = plan_file();
  const nlohmann::json j = load_json(plan.path);
  const auto& prefetch = j.at("prefetch");
  ASSERT_GT(j.at("cmt").at("decode").at("chunks").size(), 0u) << "the plan streams nothing";

  const std::string planned = temp_path("planned.json"), resident = temp_path("resident.json");
  const std::string stats = temp_path("stats.json");
  const CommandResult a = flashslim("run -m " + model_path() + kRunArgs + " --plan " + plan.path +
                                    " --logits-out " + planned + " --stats-json " + stats);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  const CommandResult b =
      flashslim("run -m " + model_path() + kRunArgs + " --mode resident --logits-out " + resident);
  ASSERT_EQ(b.exit_code, 0) << b.out;
  EXPECT_EQ(load_json(planned), load_json(resident));  // bitwise: the same floats

  // The run executed the plan: its budget, slots and streamed bytes.
  const nlohmann::json s = load_json(stats);
  EXPECT_EQ(s.at("mode"), "stream");
  EXPECT_EQ(s.at("budget_bytes"), plan.budget);
  EXPECT_EQ(s.at("slot_bytes"),
            prefetch.at("n_slots").get<uint64_t>() * prefetch.at("slot_bytes").get<uint64_t>());
  EXPECT_GT(s.at("bytes_read_per_token").get<double>(), 0);
  for (const std::string& f : {planned, resident, stats}) std::filesystem::remove(f);
}

TEST(PlanRun, SyncModeRunsThePlanToo) {
  const CommandResult r =
      flashslim("run -m " + model_path() + kRunArgs + " --mode sync --plan " + plan_file().path);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("mode sync"), std::string::npos) << r.out;
}

TEST(PlanRun, PlansForSomethingElseAreRefusedSayingWhatDiffers) {
  const PlanFile& plan = plan_file();
  struct Case {
    std::string args, error;
  };
  const Case cases[] = {
      {"-m " + kOtherModel + kRunArgs, "was made for another model: file size"},
      {"-m " + model_path() + kRunArgs + " --budget " + std::to_string(plan.budget + 4096),
       "was made for a budget of " + std::to_string(plan.budget) + " bytes, but --budget is " +
           std::to_string(plan.budget + 4096)},
      {"-m " + model_path() + " -p 'Once upon a time' -n 6 -c 128",
       "made for a context of 64 tokens"},
      {"-m " + model_path() + kRunArgs + " --kv-type f32", "made for a f16 KV cache"},
      {"-m " + model_path() + kRunArgs + " --mode mmap", "a plan runs in sync or stream mode"},
  };
  for (const Case& c : cases) {
    const CommandResult r = flashslim("run " + c.args + " --plan " + plan.path);
    EXPECT_EQ(r.exit_code, 1) << c.args;
    EXPECT_NE(r.out.find(c.error), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST(PlanRun, BrokenPlanFilesNameTheKey) {
  nlohmann::json j = load_json(plan_file().path);
  j.at("prefetch").at("assumed_read")["read_bytes"] = 3000;
  const std::string broken = temp_path("broken.json");
  std::ofstream(broken) << j.dump();
  const CommandResult r = flashslim("run -m " + model_path() + kRunArgs + " --plan " + broken);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("prefetch.assumed_read.read_bytes"), std::string::npos) << r.out;
  std::filesystem::remove(broken);
}

}  // namespace
}  // namespace flashslim::test
