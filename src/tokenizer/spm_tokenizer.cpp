// SentencePiece BPE as llama.cpp's llm_tokenizer_spm: spaces become U+2581,
// adjacent symbols merge by the highest token score, and symbols that are not
// tokens fall back to <0xXX> byte tokens.
#include <cstdio>
#include <map>
#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_tokenizer.h"

namespace flashslim::tokenizer {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space

class SpmTokenizer final : public VocabTokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab) : VocabTokenizer(std::move(vocab)) {
    for (int b = 0; b < 256; ++b) byte_tokens_[b] = find_byte_token(static_cast<uint8_t>(b));
  }

  std::string kind() const override { return "llama (SPM)"; }

 protected:
  void encode_text(std::string_view text, bool after_special,
                   std::vector<int32_t>& out) const override;
  std::string plain_piece(int32_t id) const override;

 private:
  int32_t find_byte_token(uint8_t byte) const {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    int32_t id = vocab_.find(name);
    if (id < 0) id = vocab_.find(std::string(1, static_cast<char>(byte)));
    return id >= 0 ? id : vocab_.unk;
  }

  int32_t byte_tokens_[256];  // token for each byte (-1 when the vocab has neither byte nor unk)
};

// A run of the normalized text; merged symbols grow, absorbed ones get n = 0.
struct Symbol {
  int prev;
  int next;
  size_t offset;  // bytes into the normalized text
  size_t n;
};

struct Bigram {
  int left;
  int right;
  float score;
  size_t size;  // bytes of the merged text, to detect stale entries
};

// Highest score first; among equal scores the leftmost.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

// One call's merge state (llama.cpp's llm_tokenizer_spm_session).
class SpmSession {
 public:
  SpmSession(const Vocab& vocab, const int32_t (&byte_tokens)[256], std::string text)
      : vocab_(vocab), byte_tokens_(byte_tokens), text_(std::move(text)) {}

  void tokenize(std::vector<int32_t>& out) {
    for (size_t offset = 0; offset < text_.size();) {
      const size_t n =
          std::min(unicode::utf8_sequence_length(text_[offset]), text_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({index - 1, offset + n == text_.size() ? -1 : index + 1, offset, n});
      offset += n;
    }
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add_bigram(i - 1, i);

    while (!queue_.empty()) {
      const Bigram bigram = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[bigram.left];
      Symbol& right = symbols_[bigram.right];
      if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = bigram.left;
      try_add_bigram(left.prev, bigram.left);
      try_add_bigram(bigram.left, left.next);
    }

    if (symbols_.empty()) return;
    for (int i = 0; i != -1; i = symbols_[i].next) resegment(symbols_[i], out);
  }

 private:
  std::string_view text_of(const Symbol& s, size_t n) const {
    return std::string_view(text_).substr(s.offset, n);
  }

  void try_add_bigram(int left, int right) {
    if (left == -1 || right == -1) return;
    const std::string_view merged = text_of(symbols_[left], symbols_[left].n + symbols_[right].n);
    const int32_t id = vocab_.find(merged);
    if (id < 0) return;
    queue_.push({left, right, vocab_.scores[id], merged.size()});
    rev_merge_[std::string(merged)] = {left, right};
  }

  // Emits a final symbol: its token, or the tokens of the two symbols it was
  // merged from, or its bytes.
  void resegment(const Symbol& s, std::vector<int32_t>& out) const {
    const std::string_view text = text_of(s, s.n);
    const int32_t id = vocab_.find(text);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
    auto merge = rev_merge_.find(std::string(text));
    if (merge == rev_merge_.end()) {
      for (char c : text) {
        const int32_t byte_id = byte_tokens_[static_cast<uint8_t>(c)];
        if (byte_id < 0)
          fail("SPM tokenizer: no token for byte 0x{:02X} and no unknown token",
               static_cast<uint8_t>(c));
        out.push_back(byte_id);
      }
      return;
    }
    resegment(symbols_[merge->second.first], out);
    resegment(symbols_[merge->second.second], out);
  }

  const Vocab& vocab_;
  const int32_t (&byte_tokens_)[256];
  std::string text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue_;
  std::map<std::string, std::pair<int, int>> rev_merge_;
};

void SpmTokenizer::encode_text(std::string_view text, bool after_special,
                               std::vector<int32_t>& out) const {
  std::string normalized;
  normalized.reserve(text.size() * 3 + 3);
  if (vocab_.add_space_prefix && after_special) normalized += kSpaceMark;
  for (char c : text) {
    if (c == ' ')
      normalized += kSpaceMark;
    else
      normalized += c;
  }
  SpmSession(vocab_, byte_tokens_, std::move(normalized)).tokenize(out);
}

std::string SpmTokenizer::plain_piece(int32_t id) const {
  const std::string& text = vocab_.texts[id];
  switch (vocab_.types[id]) {
    case TokenType::kNormal: {
      std::string piece;
      piece.reserve(text.size());
      for (size_t i = 0; i < text.size();) {
        if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
          piece += ' ';
          i += kSpaceMark.size();
        } else {
          piece += text[i++];
        }
      }
      return piece;
    }
    case TokenType::kByte: {
      // "<0xXX>"
      unsigned byte = 0;
      if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%2X>", &byte) == 1)
        return std::string(1, static_cast<char>(byte));
      return {};
    }
    default:  // unused and undefined tokens render as nothing, as llama.cpp
      return {};
  }
}

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab) {
  return std::make_unique<SpmTokenizer>(std::move(vocab));
}

}  // namespace flashslim::tokenizer
