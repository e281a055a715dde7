#include "bench/prompt_text.h"

#include <array>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace flashslim::bench {
namespace {

constexpr std::string_view kPassage =
    "Once upon a time there was a little girl who lived in a village near the forest. "
    "Whenever she went out, the little girl wore a red riding cloak, so everyone in the "
    "village called her Little Red Riding Hood. One morning she asked her mother if she "
    "could go to visit her grandmother, as it had been a while since they had seen each "
    "other. The sun was warm, the birds were singing, and the path through the trees was "
    "long and quiet.";

// Pieces that are usually one token each, to top a prompt up to the exact length.
constexpr std::array<std::string_view, 5> kFillers = {" a", ",", " I", ".", " the"};

std::vector<std::string_view> words_of_passage() {
  std::vector<std::string_view> words;
  size_t at = 0;
  while (at < kPassage.size()) {
    const size_t end = std::min(kPassage.find(' ', at + 1), kPassage.size());
    words.push_back(kPassage.substr(at, end - at));  // with its leading space (not the first)
    at = end;
  }
  return words;
}

}  // namespace

PromptText prompt_of_length(const Tokenizer& tokenizer, int n_tokens) {
  if (n_tokens < 1) fail("prompt of {} tokens: need at least 1", n_tokens);
  const std::vector<std::string_view> words = words_of_passage();
  auto text_of = [&](size_t n_words) {
    std::string text;
    for (size_t w = 0; w < n_words; ++w) {
      // Repeats of the passage start a new sentence after a space.
      if (w > 0 && w % words.size() == 0) text += ' ';
      text += words[w % words.size()];
    }
    return text;
  };
  auto count = [&](const std::string& text) {
    return static_cast<int>(tokenizer.encode(text, /*add_special=*/true).size());
  };
  // Each word adds at least one token, so n_tokens words are enough; binary search for
  // the most words that stay within n_tokens.
  size_t low = 0, high = static_cast<size_t>(n_tokens);
  while (low < high) {
    const size_t mid = (low + high + 1) / 2;
    if (count(text_of(mid)) <= n_tokens)
      low = mid;
    else
      high = mid - 1;
  }
  PromptText prompt{text_of(low), 0};
  prompt.tokens = count(prompt.text);
  while (prompt.tokens < n_tokens) {
    bool grew = false;
    for (std::string_view filler : kFillers) {
      const std::string longer = prompt.text + std::string(filler);
      const int tokens = count(longer);
      if (tokens > prompt.tokens && tokens <= n_tokens) {
        prompt = {longer, tokens};
        grew = true;
        break;
      }
    }
    if (!grew) break;
  }
  return prompt;
}

}  // namespace flashslim::bench
