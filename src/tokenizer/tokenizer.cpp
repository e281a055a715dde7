// Tokenizer::from_gguf: picks SPM or BPE from tokenizer.ggml.model.
#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/vocab_tokenizer.h"

namespace flashslim {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
  using namespace tokenizer;
  const std::optional<std::string> model = file.meta.get_string("tokenizer.ggml.model");
  if (!model) fail("{}: metadata key 'tokenizer.ggml.model' is missing", file.path);
  if (*model == "llama")
    return make_spm_tokenizer(load_vocab(file.meta, VocabKind::kSpm, true, file.path));
  if (*model == "gpt2") {
    const std::string pre_name = file.meta.get_string("tokenizer.ggml.pre").value_or("default");
    PreTokenizer pre;
    try {
      pre = pre_tokenizer_from_name(pre_name);
    } catch (const Error& e) {
      fail("{}: {}", file.path, e.what());
    }
    const std::vector<std::string>* merges = file.meta.get_string_array("tokenizer.ggml.merges");
    if (!merges)
      fail("{}: metadata key 'tokenizer.ggml.merges' is missing or not a string array", file.path);
    Vocab vocab = load_vocab(file.meta, VocabKind::kBpe, pre == PreTokenizer::kLlama3, file.path);
    return make_bpe_tokenizer(std::move(vocab), *merges, pre);
  }
  fail("{}: unsupported tokenizer tokenizer.ggml.model = '{}' (supported: llama, gpt2)", file.path,
       *model);
}

}  // namespace flashslim
