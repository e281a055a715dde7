// Special-token partitioning, BOS/EOS and special-token rendering for both
// tokenizer kinds.
#include "tokenizer/vocab_tokenizer.h"

namespace flashslim::tokenizer {

namespace {

// A piece of the input: either a special token or a run of plain text.
struct Fragment {
  int32_t token;  // -1 for plain text
  size_t offset;  // plain text: bytes into the input
  size_t length;
};

// Splits the plain-text fragments at every occurrence of each special token's
// text, longest tokens first. Control and unknown tokens are recognised only
// with parse_special; user-defined tokens always (as llama.cpp and HF).
std::vector<Fragment> partition(std::string_view text, const Vocab& vocab, bool parse_special) {
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.push_back({-1, 0, text.size()});
  for (int32_t id : vocab.special_by_length) {
    const TokenType type = vocab.types[id];
    if (!parse_special && (type == TokenType::kControl || type == TokenType::kUnknown)) continue;
    const std::string& special = vocab.texts[id];
    std::vector<Fragment> next;
    next.reserve(fragments.size());
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t pos = f.offset;
      const size_t end = f.offset + f.length;
      while (pos < end) {
        const size_t match = text.substr(0, end).find(special, pos);
        if (match == std::string_view::npos) break;
        if (match > pos) next.push_back({-1, pos, match - pos});
        next.push_back({id, match, special.size()});
        pos = match + special.size();
      }
      if (pos < end) next.push_back({-1, pos, end - pos});
    }
    fragments = std::move(next);
  }
  return fragments;
}

}  // namespace

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_special,
                                            bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
  bool after_special = true;
  for (const Fragment& f : partition(text, vocab_, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_text(text.substr(f.offset, f.length), after_special, out);
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
  return out;
}

std::string VocabTokenizer::token_to_piece(int32_t id) const {
  if (id < 0 || id >= vocab_.size()) return {};
  switch (vocab_.types[id]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUserDefined:
      return vocab_.texts[id];
    default:
      return plain_piece(id);
  }
}

}  // namespace flashslim::tokenizer
