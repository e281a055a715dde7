#pragma once
// A SentencePiece-style ("llama") vocabulary made in code, for synthetic
// models written without --vocab: <unk>, <s>, </s>, the 256 byte tokens
// <0x00>..<0xFF>, printable ASCII, common English words with the U+2581 word
// prefix (and every prefix of them, so SentencePiece merges can reach whole
// words), then filler pieces up to the requested size.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf.h"

namespace flashslim::gguf {

// The tokenizer.* metadata entries (tokenizer.ggml.model = "llama", tokens,
// scores, token_type, special ids, add_bos) of exactly `n_vocab` tokens.
// Error if n_vocab is too small for the fixed tokens.
std::vector<std::pair<std::string, Value>> builtin_vocab_metadata(int32_t n_vocab);

}  // namespace flashslim::gguf
