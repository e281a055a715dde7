#pragma once
// Tokenizers built from GGUF metadata (tokenizer.ggml.*): SentencePiece
// ("llama") and byte-level BPE ("gpt2") with the pre-tokenizer chosen by
// tokenizer.ggml.pre. Behaviour matches llama.cpp's llama_tokenize /
// llama_token_to_piece. Thread-safe after construction (all methods const).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"

namespace flashslim {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Throws Error naming the key when the tokenizer is missing or unsupported.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);

  // add_special: prepend BOS if the vocab says so (add_bos) (and EOS if add_eos).
  // parse_special: recognise special/control token texts in `text`.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special,
                                      bool parse_special = false) const = 0;
  // Bytes of one token as llama_token_to_piece(special=true): byte tokens give
  // their byte, SPM's U+2581 becomes a space, BPE bytes are unmapped.
  virtual std::string token_to_piece(int32_t id) const = 0;

  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 if none
  virtual int32_t eos_id() const = 0;  // -1 if none
  virtual bool add_bos() const = 0;
  virtual bool is_end_of_generation(int32_t id) const = 0;
  virtual std::string kind() const = 0;  // "llama (SPM)", "gpt2 (BPE, pre=qwen2)"
};

// Emits only complete UTF-8 sequences from a stream of token pieces, so a
// multi-byte character split across tokens prints once it is whole.
class Utf8Stream {
 public:
  std::string push(std::string_view bytes);
  std::string flush();  // whatever is left (possibly invalid) at the end

 private:
  std::string pending_;
};

}  // namespace flashslim
