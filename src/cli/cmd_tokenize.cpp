// `flashslim tokenize -m FILE -p TEXT [--no-bos] [--ids] [--no-parse-special]`:
// the ids of a text under the file's tokenizer, as llama-tokenize prints them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "cli/commands.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace flashslim::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  bool no_bos = false;
  bool ids_only = false;
  bool no_parse_special = false;
};

// A piece that is not valid UTF-8 on its own (part of a split character) is
// shown as \xNN escapes so the terminal never gets a broken sequence.
std::string printable_piece(const std::string& piece) {
  std::string reencoded;
  for (uint32_t cp : unicode::decode_utf8(piece)) unicode::append_utf8(reencoded, cp);
  if (reencoded == piece) return piece;
  std::string escaped;
  for (char c : piece) escaped += fmt::format("\\x{:02x}", static_cast<uint8_t>(c));
  return escaped;
}

void run_tokenize(const TokenizeOptions& o) {
  const auto tok = Tokenizer::from_gguf(gguf::read_file(o.model));
  const std::vector<int32_t> ids =
      tok->encode(o.prompt, /*add_special=*/!o.no_bos, /*parse_special=*/!o.no_parse_special);
  if (o.ids_only) {
    fmt::print("[{}]\n", fmt::join(ids, ", "));
    return;
  }
  for (int32_t id : ids)
    fmt::print("{:6d} -> '{}'\n", id, printable_piece(tok->token_to_piece(id)));
}

}  // namespace

void register_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Print the token ids of a text (as llama-tokenize)");
  cmd->add_option("-m,--model", opts->model, "GGUF file whose tokenizer to use")->required();
  cmd->add_option("-p,--prompt", opts->prompt, "Text to tokenize")->required();
  cmd->add_flag("--no-bos", opts->no_bos, "Do not add BOS/EOS even if the vocab asks for them");
  cmd->add_flag("--ids", opts->ids_only, "Print only the ids, as a list [1, 2, 3]");
  cmd->add_flag("--no-parse-special", opts->no_parse_special,
                "Tokenize control-token texts such as <s> as plain text");
  cmd->callback([opts] { run_tokenize(*opts); });
}

}  // namespace flashslim::cli
