#pragma once
// The token table of a GGUF tokenizer (tokenizer.ggml.*): texts, scores,
// types, special ids and flags, with llama.cpp's defaults for absent keys.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/gguf.h"

namespace flashslim::tokenizer {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class VocabKind { kSpm, kBpe };

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Vocab {
  VocabKind kind = VocabKind::kSpm;
  std::vector<std::string> texts;  // by id
  std::vector<float> scores;       // by id (SPM merge priority; zeros when absent)
  std::vector<TokenType> types;    // by id
  int32_t bos = -1, eos = -1, unk = -1, eot = -1, eom = -1;  // -1: none
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM: prepend U+2581 to text after BOS/special tokens
  // Ids whose text is matched literally before tokenizing (control, user-defined
  // and unknown tokens), longest text first as llama.cpp's special-token cache.
  std::vector<int32_t> special_by_length;
  std::vector<int32_t> end_of_generation;  // eos, eot, eom and known end-of-turn texts

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  int32_t find(std::string_view text) const;  // -1 if no token has this text
  bool is_eog(int32_t id) const;

  // Fills the lookup structures from texts/types; call after filling them.
  void index();

 private:
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> text_to_id_;
};

// Reads tokenizer.ggml.* (tokens, scores, token_type, special ids, add_*);
// `kind` comes from tokenizer.ggml.model; `default_add_bos` applies when the
// file has no add_bos_token (llama.cpp: SPM and Llama 3 BPE yes, other BPE no).
// `source` names the file in errors.
Vocab load_vocab(const gguf::Metadata& meta, VocabKind kind, bool default_add_bos,
                 const std::string& source);

}  // namespace flashslim::tokenizer
