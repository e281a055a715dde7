// Per-op timings of the forward pass: laps add up per class, a null profile reads no
// clock, and a profiled forward pass gives the same logits as an unprofiled one with
// every op class timed and the sum inside the pass's wall time.
#include <gtest/gtest.h>

#include "model/op_profile.h"
#include "test_support.h"

using namespace flashslim;

namespace {

TEST(OpProfile, LapsEndAtTheNextOpAndAtStop) {
  OpProfile profile;
  {
    OpLap lap(&profile);
    lap.next(OpClass::FfnProj);
    lap.next(OpClass::Head);
    lap.stop();
    const OpProfile stopped = profile;
    lap.stop();  // nothing running: no change
    EXPECT_EQ(profile.ns, stopped.ns);
  }
  EXPECT_EQ(profile.laps, 2u);
  const nlohmann::json line = op_times_json(OpProfile{}, profile, 3);
  EXPECT_EQ(line["i"], 3);
  EXPECT_EQ(line["laps"], 2);
  EXPECT_EQ(line["ffn_proj_ns"].get<uint64_t>(), profile.ns[static_cast<size_t>(OpClass::FfnProj)]);
  EXPECT_EQ(line["attention_ns"], 0);

  OpLap off(nullptr);  // disabled: no profile to write to, nothing happens
  off.next(OpClass::Attention);
  off.stop();
}

TEST(OpProfile, ProfiledForwardPassHasSameLogitsAndTimesEveryClass) {
  const Model model(test::fixture("aidreams260K/aidreams260K-Q8_0-mixed.gguf"));
  const std::vector<int32_t> tokens = {1, 400, 401, 402, 403};
  auto logits_of = [&](OpProfile* profile, uint64_t* wall_ns) {
    ForwardOptions fo;
    fo.n_ctx = 16;
    fo.n_batch = 8;
    fo.op_profile = profile;
    ThreadPool pool(2);
    OpenedWeights weights = open_weights(model, WeightMode::Resident);
    Forward forward(model, *weights.access, pool, fo);
    std::vector<float> logits(tokens.size() * model.hparams().n_vocab);
    const uint64_t start = storage::now_ns();
    forward.eval(tokens, logits, true);
    *wall_ns = storage::now_ns() - start;
    return logits;
  };
  uint64_t plain_ns = 0, profiled_ns = 0;
  OpProfile profile;
  const std::vector<float> plain = logits_of(nullptr, &plain_ns);
  const std::vector<float> profiled = logits_of(&profile, &profiled_ns);
  EXPECT_EQ(plain, profiled);
  uint64_t sum = 0;
  for (size_t c = 0; c < kOpClassCount; ++c) {
    EXPECT_GT(profile.ns[c], 0u) << op_class_name(static_cast<OpClass>(c));
    sum += profile.ns[c];
  }
  EXPECT_LE(sum, profiled_ns);
  // Per layer: weights, norm, attn_proj, norm_rope, attention (step 1), weights ×2,
  // attn_proj, norm_rope (step 2), and the same for the FFN steps; a few more per pass.
  EXPECT_GE(profile.laps, static_cast<uint64_t>(model.hparams().n_layer) * 10);
}

}  // namespace
