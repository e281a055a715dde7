// Token table from GGUF metadata, with llama.cpp's defaults and special-token rules.
#include "tokenizer/vocab.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace flashslim::tokenizer {

namespace {

// Token texts llama.cpp treats as end of generation (and as control tokens)
// even when the file does not name them as eos/eot/eom.
constexpr std::array<std::string_view, 10> kEndOfGenerationTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",   "<|endoftext|>",
    "<|eom_id|>", "<EOT>",      "_<EOT>",  "<|end_of_text|>", "<end_of_utterance>",
};

// Overrides `id` with metadata key `key` when it names a token of the vocab;
// out-of-range values (e.g. 0xFFFFFFFF for "none") leave the default, as llama.cpp.
void read_special_id(const gguf::Metadata& meta, std::string_view key, int32_t n_vocab,
                     int32_t& id) {
  std::optional<int64_t> value = meta.get_int(key);
  if (value && *value >= 0 && *value < n_vocab) id = static_cast<int32_t>(*value);
}

}  // namespace

int32_t Vocab::find(std::string_view text) const {
  auto it = text_to_id_.find(text);
  return it == text_to_id_.end() ? -1 : it->second;
}

bool Vocab::is_eog(int32_t id) const {
  return std::find(end_of_generation.begin(), end_of_generation.end(), id) !=
         end_of_generation.end();
}

void Vocab::index() {
  text_to_id_.clear();
  text_to_id_.reserve(texts.size());
  // Later duplicates win, as llama.cpp's token_to_id[text] = id.
  for (int32_t id = 0; id < size(); ++id) text_to_id_.insert_or_assign(texts[id], id);

  end_of_generation.clear();
  for (int32_t id : {eos, eot, eom})
    if (id >= 0 && !is_eog(id)) end_of_generation.push_back(id);
  for (std::string_view text : kEndOfGenerationTexts) {
    const int32_t id = find(text);
    if (id < 0) continue;
    types[id] = TokenType::kControl;
    if (!is_eog(id)) end_of_generation.push_back(id);
  }

  special_by_length.clear();
  for (int32_t id = 0; id < size(); ++id) {
    const TokenType t = types[id];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !texts[id].empty())
      special_by_length.push_back(id);
  }
  std::stable_sort(special_by_length.begin(), special_by_length.end(),
                   [&](int32_t a, int32_t b) { return texts[a].size() > texts[b].size(); });
}

Vocab load_vocab(const gguf::Metadata& meta, VocabKind kind, bool default_add_bos,
                 const std::string& source) {
  Vocab v;
  v.kind = kind;
  v.add_bos = default_add_bos;
  const std::vector<std::string>* tokens = meta.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty())
    fail("{}: metadata key 'tokenizer.ggml.tokens' is missing or not a string array", source);
  v.texts = *tokens;
  const size_t n = v.texts.size();

  v.scores.assign(n, 0.0f);
  if (const std::vector<double>* scores = meta.get_float_array("tokenizer.ggml.scores")) {
    if (scores->size() != n)
      fail("{}: 'tokenizer.ggml.scores' has {} entries, expected {}", source, scores->size(), n);
    std::transform(scores->begin(), scores->end(), v.scores.begin(),
                   [](double s) { return static_cast<float>(s); });
  }

  v.types.assign(n, TokenType::kNormal);
  if (const std::vector<int64_t>* types = meta.get_int_array("tokenizer.ggml.token_type")) {
    if (types->size() != n)
      fail("{}: 'tokenizer.ggml.token_type' has {} entries, expected {}", source, types->size(), n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = (*types)[i];
      if (t < 0 || t > static_cast<int64_t>(TokenType::kByte))
        fail("{}: 'tokenizer.ggml.token_type'[{}] = {} is not a token type", source, i, t);
      v.types[i] = static_cast<TokenType>(t);
    }
  }

  // llama.cpp's per-model defaults before the file's overrides.
  const int32_t n_vocab = v.size();
  if (kind == VocabKind::kSpm) {
    v.unk = 0;
    v.bos = 1;
    v.eos = 2;
    v.add_space_prefix = true;
  } else {
    v.bos = 11;
    v.eos = 11;
  }
  v.bos = v.bos < n_vocab ? v.bos : -1;
  v.eos = v.eos < n_vocab ? v.eos : -1;
  read_special_id(meta, "tokenizer.ggml.bos_token_id", n_vocab, v.bos);
  read_special_id(meta, "tokenizer.ggml.eos_token_id", n_vocab, v.eos);
  read_special_id(meta, "tokenizer.ggml.unknown_token_id", n_vocab, v.unk);
  read_special_id(meta, "tokenizer.ggml.eot_token_id", n_vocab, v.eot);
  read_special_id(meta, "tokenizer.ggml.eom_token_id", n_vocab, v.eom);
  v.add_bos = meta.get_bool("tokenizer.ggml.add_bos_token").value_or(v.add_bos);
  v.add_eos = meta.get_bool("tokenizer.ggml.add_eos_token").value_or(v.add_eos);
  if (kind == VocabKind::kSpm)
    v.add_space_prefix = meta.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  if (v.add_bos && v.bos < 0) fail("{}: the vocab asks for BOS but has no BOS token", source);
  if (v.add_eos && v.eos < 0) fail("{}: the vocab asks for EOS but has no EOS token", source);

  v.index();
  return v;
}

}  // namespace flashslim::tokenizer
