#pragma once
// Prompts of a requested length in tokens for benchmark runs: `flashslim run` takes the
// prompt as text, and an experiment axis is given in tokens (prompt_tokens), so the text
// is built with the model's own tokenizer.
#include <string>

#include "tokenizer/tokenizer.h"

namespace flashslim::bench {

struct PromptText {
  std::string text;
  int tokens = 0;  // what the text encodes to, BOS included; n_tokens unless noted
};

// English prose (a fixed passage, repeated) whose encoding with special tokens (BOS) has
// n_tokens tokens, or the closest count below it when no piece of the passage lands
// exactly (a tokenizer without single-token fillers). Throws Error if n_tokens < 1.
PromptText prompt_of_length(const Tokenizer& tokenizer, int n_tokens);

}  // namespace flashslim::bench
