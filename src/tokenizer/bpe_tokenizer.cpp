// Byte-level BPE as llama.cpp's llm_tokenizer_bpe: pre-tokenize into words,
// map each byte to its GPT-2 printable code point, merge adjacent symbols by
// lowest merge rank, and emit each final symbol's token.
#include <array>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_tokenizer.h"

namespace flashslim::tokenizer {

namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100 onwards in byte order.
std::array<uint32_t, 256> make_byte_to_code_point() {
  std::array<uint32_t, 256> map{};
  uint32_t next_unprintable = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    map[b] = printable ? b : next_unprintable++;
  }
  return map;
}

struct Symbol {
  int prev;
  int next;
  size_t offset;  // bytes into the mapped word
  size_t n;
};

struct Bigram {
  int left;
  int right;
  int rank;
  std::string text;  // merged text, to detect stale entries
};

// Lowest rank first; among equal ranks the leftmost.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class BpeTokenizer final : public VocabTokenizer {
 public:
  BpeTokenizer(Vocab vocab, const std::vector<std::string>& merges, PreTokenizer pre)
      : VocabTokenizer(std::move(vocab)),
        pre_(pre),
        ignore_merges_(pre == PreTokenizer::kLlama3),
        byte_to_code_point_(make_byte_to_code_point()) {
    for (uint32_t b = 0; b < 256; ++b) code_point_to_byte_[byte_to_code_point_[b]] = uint8_t(b);
    ranks_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const std::string& merge = merges[rank];
      // The separator is the first space after the first byte, as llama.cpp.
      if (merge.find(' ', 1) == std::string::npos)
        fail("BPE merge {} '{}' has no space separating its two parts", rank, merge);
      ranks_.emplace(merge, static_cast<int>(rank));  // the first rank of a duplicate wins
    }
  }

  std::string kind() const override {
    return std::string("gpt2 (BPE, pre=") + pre_tokenizer_name(pre_) + ")";
  }

 protected:
  void encode_text(std::string_view text, bool after_special,
                   std::vector<int32_t>& out) const override {
    for (const std::string& word : split_words(text, pre_)) encode_word(map_bytes(word), out);
  }

  std::string plain_piece(int32_t id) const override {
    if (vocab_.types[id] != TokenType::kNormal) return {};
    std::string piece;
    for (uint32_t cp : unicode::decode_utf8(vocab_.texts[id])) {
      auto byte = code_point_to_byte_.find(cp);
      if (byte != code_point_to_byte_.end()) {
        piece += static_cast<char>(byte->second);
      } else {  // not a byte-level code point: llama.cpp marks it the same way
        std::string utf8;
        unicode::append_utf8(utf8, cp);
        piece += "[UNK_BYTE_0x";
        for (char c : utf8) piece += fmt::format("{:02x}", static_cast<uint8_t>(c));
        piece += vocab_.texts[id] + "]";
      }
    }
    return piece;
  }

 private:
  std::string map_bytes(std::string_view word) const {
    std::string mapped;
    mapped.reserve(word.size() * 2);
    for (char c : word) unicode::append_utf8(mapped, byte_to_code_point_[static_cast<uint8_t>(c)]);
    return mapped;
  }

  int rank_of(std::string_view left, std::string_view right) const {
    std::string key;
    key.reserve(left.size() + 1 + right.size());
    key.append(left).append(" ").append(right);
    auto it = ranks_.find(key);
    return it == ranks_.end() ? -1 : it->second;
  }

  void encode_word(const std::string& word, std::vector<int32_t>& out) const {
    // Llama 3 takes a word that is already a token as is, without merging.
    if (ignore_merges_) {
      const int32_t id = vocab_.find(word);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    std::vector<Symbol> symbols;
    for (size_t offset = 0; offset < word.size();) {
      const size_t n = std::min(unicode::utf8_sequence_length(word[offset]), word.size() - offset);
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({index - 1, offset + n == word.size() ? -1 : index + 1, offset, n});
      offset += n;
    }
    auto text_of = [&](const Symbol& s) { return std::string_view(word).substr(s.offset, s.n); };

    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
    auto try_add_bigram = [&](int left, int right) {
      if (left == -1 || right == -1) return;
      const std::string_view l = text_of(symbols[left]);
      const std::string_view r = text_of(symbols[right]);
      const int rank = rank_of(l, r);
      if (rank < 0) return;
      queue.push({left, right, rank, std::string(l).append(r)});
    };
    for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add_bigram(i - 1, i);

    while (!queue.empty()) {
      const Bigram bigram = queue.top();
      queue.pop();
      Symbol& left = symbols[bigram.left];
      Symbol& right = symbols[bigram.right];
      if (left.n == 0 || right.n == 0) continue;
      if (std::string(text_of(left)).append(text_of(right)) != bigram.text) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = bigram.left;
      try_add_bigram(left.prev, bigram.left);
      try_add_bigram(bigram.left, left.next);
    }

    for (const Symbol& s : symbols) {
      if (s.n == 0) continue;
      const std::string_view text = text_of(s);
      const int32_t id = vocab_.find(text);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // No token for the symbol: emit the tokens of its single bytes that exist.
      for (char c : text) {
        const int32_t byte_id = vocab_.find(std::string_view(&c, 1));
        if (byte_id >= 0) out.push_back(byte_id);
      }
    }
  }

  PreTokenizer pre_;
  bool ignore_merges_;
  std::array<uint32_t, 256> byte_to_code_point_;
  std::unordered_map<uint32_t, uint8_t> code_point_to_byte_;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> ranks_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab, const std::vector<std::string>& merges,
                                              PreTokenizer pre) {
  return std::make_unique<BpeTokenizer>(std::move(vocab), merges, pre);
}

}  // namespace flashslim::tokenizer
