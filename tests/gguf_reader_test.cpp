// GGUF reader: every fixture parses with the expected facts; every kind of
// malformed header gives its own error naming the field and byte offset.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "gguf/gguf.h"

namespace flashslim::gguf {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = FLASHSLIM_FIXTURES;

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The error parse_buffer throws for `bytes`, or "" when it parses.
std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_buffer(bytes, "t.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_PARSE_ERROR(bytes, text)                                         \
  do {                                                                          \
    const std::string error_ = parse_error(bytes);                              \
    EXPECT_NE(error_.find(text), std::string::npos) << "error was: " << error_; \
  } while (0)

// Hand-built GGUF bytes, so tests can write what no valid writer would.
class Bytes {
 public:
  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b_.insert(b_.end(), p, p + sizeof v);
    return *this;
  }
  Bytes& str(std::string_view s) {
    put<uint64_t>(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    b_.insert(b_.end(), {'G', 'G', 'U', 'F'});
    return put<uint32_t>(version).put<uint64_t>(tensors).put<uint64_t>(kvs);
  }
  Bytes& kv_u32(std::string_view key, uint32_t v) {
    return str(key).put<uint32_t>(uint32_t(ValueType::UINT32)).put<uint32_t>(v);
  }
  Bytes& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  // Zero padding up to the data section, then `n` data bytes.
  Bytes& data(uint64_t n, uint64_t alignment = 32) {
    b_.resize((b_.size() + alignment - 1) / alignment * alignment + n);
    return *this;
  }
  size_t size() const { return b_.size(); }
  operator const std::vector<uint8_t>&() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

constexpr uint32_t kF32 = 0, kQ8_0 = 8;

// ---- fixtures ----

TEST(GgufReaderFixtures, EveryFixtureParses) {
  int files = 0;
  for (const char* dir : {"aidreams260K", "synth", "vocab"}) {
    for (const auto& entry : fs::directory_iterator(kFixtures + "/" + dir)) {
      if (entry.path().extension() != ".gguf") continue;
      SCOPED_TRACE(entry.path().string());
      File f = read_file(entry.path().string());
      EXPECT_EQ(f.version, 3u);
      EXPECT_FALSE(f.architecture().empty());
      EXPECT_LE(f.data_offset, f.file_size);
      for (const TensorInfo& t : f.tensors) {
        EXPECT_EQ(t.offset % f.alignment, 0u);
        EXPECT_LE(t.offset + t.nbytes, f.file_size);
      }
      ++files;
    }
  }
  EXPECT_EQ(files, 25);
}

TEST(GgufReaderFixtures, TinyLlamaF16Facts) {
  File f = read_file(kFixtures + "/synth/tiny-llama-F16.gguf");
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.meta.get_uint("llama.embedding_length"), 256u);
  EXPECT_EQ(f.meta.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(f.meta.get_uint("llama.attention.head_count"), 8u);
  EXPECT_EQ(f.meta.get_uint("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(f.meta.get_uint("llama.feed_forward_length"), 768u);
  EXPECT_EQ(f.meta.get_string("tokenizer.ggml.model"), "llama");
  ASSERT_NE(f.meta.get_string_array("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(f.meta.get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
  EXPECT_NE(f.meta.get_float_array("tokenizer.ggml.scores"), nullptr);
  EXPECT_NE(f.meta.get_int_array("tokenizer.ggml.token_type"), nullptr);
  // 2 layers x 9 tensors + token_embd + output_norm; embeddings are tied.
  EXPECT_EQ(f.tensors.size(), 20u);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
  const TensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, GgmlType::F16);
  EXPECT_EQ(embd->n_dims, 2u);
  EXPECT_EQ(embd->cols(), 256);
  EXPECT_EQ(embd->rows(), 32000);
  EXPECT_EQ(embd->nbytes, 256u * 32000 * 2);
  const TensorInfo* norm = f.find_tensor("blk.1.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->type, GgmlType::F32);
  EXPECT_EQ(norm->n_dims, 1u);
  const TensorInfo* k = f.find_tensor("blk.0.attn_k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->ne, (std::array<int64_t, 4>{256, 64, 1, 1}));  // 2 KV heads x 32
}

TEST(GgufReaderFixtures, TypedGettersConvertOrFail) {
  File f = read_file(kFixtures + "/aidreams260K/aidreams260K-f32.gguf");
  EXPECT_EQ(f.meta.get_int("llama.block_count"), 4);
  EXPECT_EQ(f.meta.get_float("llama.block_count"), 4.0);
  EXPECT_FALSE(f.meta.get_uint("no.such.key").has_value());
  EXPECT_THROW(f.meta.get_uint("general.architecture"), Error);
  EXPECT_THROW(f.meta.get_string("llama.block_count"), Error);
  EXPECT_EQ(f.meta.get_float_array("tokenizer.ggml.tokens"), nullptr);
}

TEST(GgufReaderFixtures, ParseBufferAgreesWithReadFile) {
  const std::string path = kFixtures + "/synth/tiny-qwen2-Q4_K_M.gguf";
  File a = read_file(path);
  File b = parse_buffer(read_all(path), path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].offset, b.tensors[i].offset);
    EXPECT_EQ(a.tensors[i].nbytes, b.tensors[i].nbytes);
  }
  EXPECT_EQ(a.meta.entries().size(), b.meta.entries().size());
  EXPECT_EQ(a.data_offset, b.data_offset);
}

TEST(GgufReaderFiles, MissingFileAndDirectory) {
  try {
    read_file("/nonexistent/model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf: cannot open"),
              std::string::npos);
  }
  try {
    read_file(kFixtures);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos);
  }
}

// ---- truncation ----

// Every prefix of a real header fails with a truncation error, never a crash.
TEST(GgufReaderTruncation, EveryPrefixOfARealFileFails) {
  const std::vector<uint8_t> full =
      read_all(kFixtures + "/aidreams260K/aidreams260K-Q8_0-mixed.gguf");
  const File f = parse_buffer(full, "t.gguf");
  const auto last = f.tensors.back();
  for (size_t n = 0; n < full.size(); n += (n < f.data_offset ? 1 : 997)) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
    const std::string error = parse_error(prefix);
    if (n >= f.data_offset) {
      if (n < last.offset + last.nbytes) {
        EXPECT_NE(error.find("lies outside the file"), std::string::npos) << n << ": " << error;
      }
      continue;
    }
    // A cut header shows up as a short read, as a count or length that no
    // longer fits in what is left, or (cut in the padding) as tensor data
    // outside the file.
    const bool truncation = error.find("file ends while reading") != std::string::npos ||
                            error.find("cannot fit in the") != std::string::npos ||
                            error.find("bytes left in the file") != std::string::npos ||
                            error.find("lies outside the file") != std::string::npos;
    EXPECT_TRUE(truncation) << "prefix " << n << ": " << error;
  }
}

// Each section boundary names the field that is cut off and its offset. The
// string value and the long first tensor name leave room for the count checks
// to pass, so the later cuts reach the field reads.
TEST(GgufReaderTruncation, SectionBoundariesNameTheField) {
  Bytes b;
  b.header(2, 2).str("name").put<uint32_t>(uint32_t(ValueType::STRING)).str(std::string(200, 'x'));
  const size_t kv1 = b.size();
  b.str("k");
  const size_t kv1_type = b.size();
  b.put<uint32_t>(uint32_t(ValueType::UINT32));
  const size_t kv1_value = b.size();
  b.put<uint32_t>(7);
  const size_t tensor0 = b.size();
  b.tensor(std::string(40, 'a'), {4}, kF32, 0);
  const size_t tensor1 = b.size();
  b.str("b");
  const size_t n_dims = b.size();
  b.put<uint32_t>(1);
  const size_t dim = b.size();
  b.put<uint64_t>(4);
  const size_t type = b.size();
  b.put<uint32_t>(kF32);
  const size_t offset = b.size();
  b.put<uint64_t>(32);
  const size_t header_end = b.size();
  b.data(48);
  const std::vector<uint8_t> full = b;
  auto cut = [&](size_t n) {
    return parse_error(
        std::vector<uint8_t>(full.begin(), full.begin() + static_cast<ptrdiff_t>(n)));
  };
  auto expect = [&](size_t n, const std::string& text) {
    EXPECT_NE(cut(n).find(text), std::string::npos) << "cut at " << n << ": " << cut(n);
  };
  expect(0, "t.gguf: header at byte 0: file ends while reading the magic (needs 4 bytes, 0 left)");
  expect(4, "header at byte 4: file ends while reading the version");
  expect(8, "header at byte 8: file ends while reading the tensor count");
  expect(16, "header at byte 16: file ends while reading the metadata count");
  expect(24, "header at byte 16: metadata count 2 cannot fit in the 0 bytes left");
  expect(kv1 - 1,
         fmt::format("metadata key 'name' at byte {}: a string value length 200 exceeds the "
                     "199 bytes left",
                     kv1 - 208));
  expect(kv1,
         fmt::format("metadata entry 1 at byte {}: file ends while reading the length of the key",
                     kv1));
  expect(
      kv1_type,
      fmt::format("metadata key 'k' at byte {}: file ends while reading the value type", kv1_type));
  expect(kv1_value, fmt::format("at byte {}: file ends while reading a uint32 value", kv1_value));
  expect(tensor0, "header at byte 8: tensor count 2 cannot fit in the 0 bytes left");
  expect(tensor1,
         fmt::format("tensor 1 at byte {}: file ends while reading the length of the tensor name",
                     tensor1));
  expect(n_dims,
         fmt::format("tensor 'b' (index 1) at byte {}: file ends while reading n_dims", n_dims));
  expect(dim, fmt::format("at byte {}: file ends while reading a dimension", dim));
  expect(type, fmt::format("at byte {}: file ends while reading the tensor type", type));
  expect(offset, fmt::format("at byte {}: file ends while reading the data offset", offset));
  expect(header_end, "lies outside the file");
  expect(full.size() - 1, fmt::format("tensor 'b' (index 1) at byte {}: data [32, +16)", offset));
  EXPECT_EQ(cut(full.size()), "");
}

// ---- header ----

TEST(GgufReaderMalformed, BadMagic) {
  std::vector<uint8_t> bytes = Bytes().header(0, 0);
  bytes[0] = 'X';
  EXPECT_PARSE_ERROR(bytes, "t.gguf: header at byte 0: bad magic 'XGUF'");
}

TEST(GgufReaderMalformed, BadVersion) {
  EXPECT_PARSE_ERROR(Bytes().header(0, 0, 1), "at byte 4: unsupported version 1 (expected 2 or 3)");
  EXPECT_PARSE_ERROR(Bytes().header(0, 0, 4), "unsupported version 4");
  EXPECT_PARSE_ERROR(Bytes().header(0, 0, 0x03000000), "big-endian");
  EXPECT_EQ(parse_error(Bytes().header(0, 0, 2)), "");
}

TEST(GgufReaderMalformed, AbsurdCounts) {
  EXPECT_PARSE_ERROR(Bytes().header(1ull << 60, 0),
                     "at byte 8: tensor count 1152921504606846976 cannot fit in the 0 bytes left");
  EXPECT_PARSE_ERROR(Bytes().header(0, 1ull << 60), "at byte 16: metadata count");
  EXPECT_PARSE_ERROR(Bytes().header(0, ~0ull), "cannot fit");
  // Fits the header but not what is left after the metadata.
  Bytes b;
  b.header(2, 1).kv_u32("k", 1).data(32);
  EXPECT_PARSE_ERROR(b, "at byte 8: tensor count 2 cannot fit");
}

// ---- metadata ----

TEST(GgufReaderMalformed, HugeStringLengths) {
  Bytes key;
  key.header(0, 1).put<uint64_t>(1ull << 62).data(32);
  EXPECT_PARSE_ERROR(key,
                     "metadata entry 0 at byte 24: the key length 4611686018427387904 exceeds");
  Bytes value;
  value.header(0, 1).str("k").put<uint32_t>(uint32_t(ValueType::STRING)).put<uint64_t>(~0ull);
  EXPECT_PARSE_ERROR(value, "metadata key 'k' at byte 37: a string value length");
  Bytes long_key;
  long_key.header(0, 1).str(std::string(70000, 'a')).put<uint32_t>(0).put<uint8_t>(0);
  EXPECT_PARSE_ERROR(long_key, "exceeds the limit of 65535");
}

TEST(GgufReaderMalformed, HugeArrayLength) {
  Bytes b;
  b.header(0, 1).str("k").put<uint32_t>(uint32_t(ValueType::ARRAY));
  b.put<uint32_t>(uint32_t(ValueType::UINT32)).put<uint64_t>(1ull << 61);
  EXPECT_PARSE_ERROR(
      b, "metadata key 'k' at byte 41: array length (uint32[]) 2305843009213693952 cannot fit");
}

TEST(GgufReaderMalformed, UnknownValueTypes) {
  Bytes scalar;
  scalar.header(0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0);
  EXPECT_PARSE_ERROR(scalar, "metadata key 'k' at byte 33: unknown value type 13");
  Bytes element;
  element.header(0, 1).str("k").put<uint32_t>(uint32_t(ValueType::ARRAY)).put<uint32_t>(99);
  element.put<uint64_t>(0);
  EXPECT_PARSE_ERROR(element, "at byte 37: unknown value type 99");
  Bytes nested;
  nested.header(0, 1).str("k").put<uint32_t>(uint32_t(ValueType::ARRAY));
  nested.put<uint32_t>(uint32_t(ValueType::ARRAY)).put<uint64_t>(0);
  EXPECT_PARSE_ERROR(nested, "arrays of arrays are not supported");
  Bytes bad_bool;
  bad_bool.header(0, 1).str("k").put<uint32_t>(uint32_t(ValueType::BOOL)).put<uint8_t>(2);
  EXPECT_PARSE_ERROR(bad_bool, "bool value 2 is neither 0 nor 1");
}

TEST(GgufReaderMalformed, KeysMustBeValidUtf8AndUnique) {
  for (std::string key : {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80"}) {
    Bytes b;
    b.header(0, 1).kv_u32(key, 1);
    EXPECT_PARSE_ERROR(b, "metadata entry 0 at byte 24: key is not valid UTF-8");
  }
  Bytes ok;
  ok.header(0, 1).kv_u32("ключ.€.😀", 1);
  EXPECT_EQ(parse_error(ok), "");
  Bytes empty;
  empty.header(0, 1).kv_u32("", 1);
  EXPECT_PARSE_ERROR(empty, "empty key");
  Bytes dup;
  dup.header(0, 2).kv_u32("k", 1).kv_u32("k", 2);
  EXPECT_PARSE_ERROR(dup, "metadata key 'k' at byte 41: duplicate key");
}

TEST(GgufReaderMalformed, BadAlignment) {
  for (uint32_t a : {0u, 48u, 3u}) {
    Bytes b;
    b.header(0, 1).kv_u32("general.alignment", a);
    EXPECT_PARSE_ERROR(
        b,
        fmt::format(
            "metadata key 'general.alignment' at byte 49: alignment {} is not a power of two", a));
  }
  Bytes wrong_type;
  wrong_type.header(0, 1).str("general.alignment").put<uint32_t>(uint32_t(ValueType::UINT64));
  wrong_type.put<uint64_t>(64);
  EXPECT_PARSE_ERROR(wrong_type, "has type uint64, expected uint32");
  // A valid non-default alignment applies to the tensor offsets.
  Bytes b64;
  b64.header(2, 1).kv_u32("general.alignment", 64);
  b64.tensor("a", {4}, kF32, 0).tensor("b", {4}, kF32, 32).data(64 + 16, 64);
  EXPECT_PARSE_ERROR(b64, "tensor 'b' (index 1) at byte");
  EXPECT_PARSE_ERROR(b64, "data offset 32 is not aligned to 64");
}

// ---- tensor index ----

TEST(GgufReaderMalformed, DimensionCount) {
  for (uint32_t n : {0u, 5u}) {
    Bytes b;
    b.header(1, 0).str("w").put<uint32_t>(n);
    for (uint32_t d = 0; d < 5; ++d) b.put<uint64_t>(1);
    b.put<uint32_t>(kF32).put<uint64_t>(0).data(32);
    EXPECT_PARSE_ERROR(b,
                       fmt::format("tensor 'w' (index 0) at byte 33: n_dims {} is not in 1..4", n));
  }
}

TEST(GgufReaderMalformed, Dimensions) {
  Bytes zero;
  zero.header(1, 0).tensor("w", {4, 0}, kF32, 0).data(32);
  EXPECT_PARSE_ERROR(zero, "at byte 45: dimension 1 is 0");
  Bytes negative;
  negative.header(1, 0).tensor("w", {~0ull}, kF32, 0).data(32);
  EXPECT_PARSE_ERROR(negative, "dimension 0 is 18446744073709551615");
  Bytes product;
  product.header(1, 0).tensor("w", {1ull << 32, 1ull << 32}, kF32, 0).data(32);
  EXPECT_PARSE_ERROR(product, "at byte 45: the product of the dimensions overflows int64");
  Bytes bytes;  // 2^62 elements fit int64, but 2^64 bytes do not fit uint64
  bytes.header(1, 0).tensor("w", {1ull << 31, 1ull << 31}, kF32, 0).data(32);
  EXPECT_PARSE_ERROR(bytes, "the tensor byte size overflows uint64");
  Bytes block;
  block.header(1, 0).tensor("w", {33, 2}, kQ8_0, 0).data(32);
  EXPECT_PARSE_ERROR(block, "row length ne[0] = 33 is not a multiple of the Q8_0 block size 32");
}

TEST(GgufReaderMalformed, UnknownTensorType) {
  Bytes b;
  b.header(1, 0).tensor("blk.0.attn_q.weight", {4}, 99, 0).data(32);
  EXPECT_PARSE_ERROR(
      b, "tensor 'blk.0.attn_q.weight' (index 0) at byte 63: unknown tensor type id 99");
}

TEST(GgufReaderMalformed, DuplicateTensorName) {
  Bytes b;
  b.header(2, 0).tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32).data(64);
  EXPECT_PARSE_ERROR(b, "tensor 'w' (index 1) at byte 57: duplicate tensor name");
}

TEST(GgufReaderMalformed, MisalignedOffset) {
  Bytes b;
  b.header(1, 0).tensor("w", {4}, kF32, 16).data(64);
  EXPECT_PARSE_ERROR(
      b, "t.gguf: tensor 'w' (index 0) at byte 49: data offset 16 is not aligned to 32");
}

TEST(GgufReaderMalformed, OffsetOutsideTheFile) {
  Bytes past;
  past.header(1, 0).tensor("w", {4}, kF32, 64).data(64);
  EXPECT_PARSE_ERROR(past,
                     "tensor 'w' (index 0) at byte 49: data [64, +16) relative to the data section "
                     "at byte 64 lies outside the file (128 bytes)");
  Bytes wraps;  // offset + nbytes would wrap around uint64
  wraps.header(1, 0).tensor("w", {4}, kF32, ~0ull - 31).data(64);
  EXPECT_PARSE_ERROR(wraps, "lies outside the file");
}

TEST(GgufReaderMalformed, OverlappingTensors) {
  Bytes adjacent;  // 16 floats = 64 bytes each: [0, 64) and [64, 128)
  adjacent.header(2, 0).tensor("a", {16}, kF32, 0).tensor("b", {16}, kF32, 64).data(128);
  EXPECT_EQ(parse_error(adjacent), "");
  Bytes overlap;  // [0, 64) and [32, 96)
  overlap.header(2, 0).tensor("a", {16}, kF32, 0).tensor("b", {16}, kF32, 32).data(128);
  EXPECT_PARSE_ERROR(
      overlap,
      "tensor 'b' (index 1) at byte 82: data [128, 192) overlaps tensor 'a' data [96, 160)");
}

}  // namespace
}  // namespace flashslim::gguf
