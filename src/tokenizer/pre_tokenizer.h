#pragma once
// BPE pre-tokenization: splits text into words before merges, by the regex
// list llama.cpp uses for each tokenizer.ggml.pre value. Each regex is a
// hand-written matcher over code points; as in llama.cpp's unicode_regex_split,
// every regex splits each word of the previous one into its matches and the
// unmatched gaps between them, and cannot look beyond the word it splits.
#include <string>
#include <string_view>
#include <vector>

namespace flashslim::tokenizer {

enum class PreTokenizer {
  kDefault,      // "default" (and a missing tokenizer.ggml.pre)
  kGpt2,         // "gpt-2", "phi-2", "roberta-bpe", ...
  kLlama3,       // "llama-bpe", "llama3", "llama-v3", "falcon3", ...
  kQwen2,        // "qwen2", "deepseek-r1-qwen", "stablelm2"
  kFalcon,       // "falcon"
  kDeepseekLlm,  // "deepseek-llm"
  kStarcoder,    // "starcoder", "smollm", "refact", "command-r", ...
};

// Throws Error naming the value when llama.cpp's name is not supported here.
PreTokenizer pre_tokenizer_from_name(std::string_view name);
const char* pre_tokenizer_name(PreTokenizer pre);

// Words of `text` (UTF-8; invalid bytes become U+FFFD) in order; their
// concatenation is the text.
std::vector<std::string> split_words(std::string_view text, PreTokenizer pre);

}  // namespace flashslim::tokenizer
