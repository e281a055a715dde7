#pragma once
// What SPM and BPE share: the vocab, special-token partitioning of the input
// (as llama.cpp's tokenizer_st_partition), BOS/EOS and the rendering of
// special tokens. Subclasses tokenize runs of plain text and render normal tokens.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace flashslim::tokenizer {

class VocabTokenizer : public Tokenizer {
 public:
  explicit VocabTokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}

  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special = false) const override;
  std::string token_to_piece(int32_t id) const override;
  int32_t n_vocab() const override { return vocab_.size(); }
  int32_t bos_id() const override { return vocab_.bos; }
  int32_t eos_id() const override { return vocab_.eos; }
  bool add_bos() const override { return vocab_.add_bos; }
  bool is_end_of_generation(int32_t id) const override { return vocab_.is_eog(id); }
  const Vocab& vocab() const { return vocab_; }

 protected:
  // Appends the tokens of a run of text without special tokens. `after_special`
  // is true for the first run and for runs right after a special token.
  virtual void encode_text(std::string_view text, bool after_special,
                           std::vector<int32_t>& out) const = 0;
  // Bytes of a token that is not control, unknown or user-defined.
  virtual std::string plain_piece(int32_t id) const = 0;

  Vocab vocab_;
};

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocab vocab);
// `merges`: tokenizer.ggml.merges, "left right" in rank order.
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocab vocab, const std::vector<std::string>& merges,
                                              PreTokenizer pre);

}  // namespace flashslim::tokenizer
