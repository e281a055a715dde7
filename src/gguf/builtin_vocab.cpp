#include "gguf/builtin_vocab.h"

#include <fmt/format.h>

#include <cctype>
#include <string_view>
#include <unordered_set>

#include "core/error.h"

namespace flashslim::gguf {
namespace {

// llama.cpp's token types (enum llama_token_type).
constexpr int32_t kNormal = 1;
constexpr int32_t kUnknown = 2;
constexpr int32_t kControl = 3;
constexpr int32_t kByte = 6;

constexpr std::string_view kWordPrefix = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// Frequent English words, most frequent first, with some words of children's
// stories (the README demo's prompts).
constexpr std::string_view kWords =
    "the of and to a in is it you that he was for on are with as I his they be at one have "
    "this from or had by not word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them write "
    "would like so these her long make thing see him two has look more day could go come did "
    "number sound no most people my over know water than call first who may down side been "
    "now find any new work part take get place made live where after back little only round "
    "man year came show every good me give our under name very through just form sentence "
    "great think say help low line differ turn cause much mean before move right boy old too "
    "same tell does set three want air well also play small end put home read hand port large "
    "spell add even land here must big high such follow act why ask men change went light "
    "kind off need house picture try us again animal point mother world near build self earth "
    "father head stand own page should country found answer school grow study still learn "
    "plant cover food sun four between state keep eye never last let thought city tree cross "
    "farm hard start might story saw far sea draw left late run while press close night real "
    "life few north open seem together next white children begin got walk example ease paper "
    "group always music those both mark often letter until mile river car feet care second "
    "book carry took science eat room friend began idea fish mountain stop once base hear horse "
    "cut sure watch color face wood main enough plain girl usual young ready above ever red "
    "list though feel talk bird soon body dog family direct pose leave song measure door "
    "product black short numeral class wind question happen complete ship area half rock order "
    "fire south problem piece told knew pass since top whole king space heard best hour better "
    "true during hundred five remember step early hold west ground interest reach fast verb "
    "sing listen six table travel less morning ten simple several vowel toward war lay against "
    "pattern slow center love person money serve appear road map rain rule govern pull cold "
    "notice voice unit power town fine certain fly fall lead cry dark machine note wait plan "
    "figure star box noun field rest correct able pound done beauty drive stood contain front "
    "teach week final gave green oh quick develop ocean warm free minute strong special mind "
    "behind clear tail produce fact street inch multiply nothing course stay wheel full force "
    "blue object decide surface deep moon island foot system busy test record boat common gold "
    "possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss "
    "brought heat snow tire bring yes distant fill east paint language among upon happy sad "
    "mom dad ball toy cat smiled played wanted loved named lily timmy tom sam ben sue park "
    "garden flower sky bear rabbit bunny duck princess magic castle forest cookie cake pretty "
    "excited scared kind brave gentle shiny sunny lived felt looked saw went said asked";

// Word endings without the word prefix, so inflected words split cleanly.
constexpr std::string_view kSuffixes =
    "s ed ing ly er est tion ness ment able ful less 's n't 're 'll 've y ies";

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

size_t count_codepoints(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

class VocabBuilder {
 public:
  explicit VocabBuilder(size_t capacity) : capacity_(capacity) {
    tokens.reserve(capacity);
    scores.reserve(capacity);
    types.reserve(capacity);
  }
  bool full() const { return tokens.size() >= capacity_; }
  // Adds a piece unless it exists or the vocabulary is full.
  void add(std::string piece, float score, int32_t type) {
    if (full() || !seen_.insert(piece).second) return;
    tokens.push_back(std::move(piece));
    scores.push_back(score);
    types.push_back(type);
  }
  // A word piece and all its prefixes; the score grows with the length so that
  // SentencePiece's highest-score-first merging prefers the longer pieces.
  void add_with_prefixes(std::string_view lead, std::string_view word, float rank_penalty) {
    for (size_t len = 1; len <= word.size(); ++len) {
      std::string piece = std::string(lead) + std::string(word.substr(0, len));
      const float score = static_cast<float>(count_codepoints(piece)) - rank_penalty;
      add(std::move(piece), score, kNormal);
    }
  }
  size_t size() const { return tokens.size(); }

  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;

 private:
  size_t capacity_;
  std::unordered_set<std::string> seen_;
};

Value uint32_value(uint32_t v) {
  Value value;
  value.type = ValueType::UINT32;
  value.u = v;
  return value;
}

Value bool_value(bool v) {
  Value value;
  value.type = ValueType::BOOL;
  value.u = v;
  return value;
}

Value string_value(std::string v) {
  Value value;
  value.type = ValueType::STRING;
  value.s = std::move(v);
  return value;
}

Value array_value(ValueType elem_type, size_t size) {
  Value value;
  value.type = ValueType::ARRAY;
  value.elem_type = elem_type;
  value.array_size = size;
  return value;
}

}  // namespace

std::vector<std::pair<std::string, Value>> builtin_vocab_metadata(int32_t n_vocab) {
  constexpr int32_t kFixedTokens = 3 + 256 + 1;  // specials, bytes, the bare word prefix
  if (n_vocab < kFixedTokens) {
    fail("built-in vocabulary: {} tokens requested, at least {} needed", n_vocab, kFixedTokens);
  }
  VocabBuilder vocab(static_cast<size_t>(n_vocab));
  vocab.add("<unk>", 0.0f, kUnknown);
  vocab.add("<s>", 0.0f, kControl);
  vocab.add("</s>", 0.0f, kControl);
  for (int byte = 0; byte < 256; ++byte) vocab.add(fmt::format("<0x{:02X}>", byte), 0.0f, kByte);
  vocab.add(std::string(kWordPrefix), 1.0f, kNormal);
  for (char c = '!'; c <= '~'; ++c) vocab.add(std::string(1, c), 1.0f, kNormal);

  // Rank penalties stay below 1 so they only order pieces of equal length.
  const std::vector<std::string_view> words = split_words(kWords);
  const float per_rank = 0.5f / static_cast<float>(words.size());
  for (size_t rank = 0; rank < words.size(); ++rank) {
    vocab.add_with_prefixes(kWordPrefix, words[rank], per_rank * static_cast<float>(rank));
  }
  for (std::string_view suffix : split_words(kSuffixes)) vocab.add_with_prefixes("", suffix, 0.0f);
  for (size_t rank = 0; rank < words.size(); ++rank) {
    std::string capitalized(words[rank]);
    capitalized[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capitalized[0])));
    vocab.add_with_prefixes(kWordPrefix, capitalized, 0.5f + per_rank * static_cast<float>(rank));
  }
  // Filler ids nothing merges into; they still detokenize to readable text.
  for (size_t id = vocab.size(); !vocab.full(); ++id) {
    vocab.add(fmt::format("{}tok{}", kWordPrefix, id), -1000.0f, kNormal);
  }

  Value tokens = array_value(ValueType::STRING, vocab.tokens.size());
  tokens.strings = std::move(vocab.tokens);
  Value scores = array_value(ValueType::FLOAT32, vocab.scores.size());
  scores.floats.assign(vocab.scores.begin(), vocab.scores.end());
  Value types = array_value(ValueType::INT32, vocab.types.size());
  types.ints.assign(vocab.types.begin(), vocab.types.end());

  std::vector<std::pair<std::string, Value>> entries;
  entries.emplace_back("tokenizer.ggml.model", string_value("llama"));
  entries.emplace_back("tokenizer.ggml.tokens", std::move(tokens));
  entries.emplace_back("tokenizer.ggml.scores", std::move(scores));
  entries.emplace_back("tokenizer.ggml.token_type", std::move(types));
  entries.emplace_back("tokenizer.ggml.unknown_token_id", uint32_value(0));
  entries.emplace_back("tokenizer.ggml.bos_token_id", uint32_value(1));
  entries.emplace_back("tokenizer.ggml.eos_token_id", uint32_value(2));
  entries.emplace_back("tokenizer.ggml.add_bos_token", bool_value(true));
  entries.emplace_back("tokenizer.ggml.add_eos_token", bool_value(false));
  return entries;
}

}  // namespace flashslim::gguf
