// GGUF v2/v3 header parser. Reads the header through a small buffer (never the
// whole file) and validates every count, length, type, shape and offset before
// using it, so hostile input costs at most O(file size) time and memory
// proportional to the bytes actually parsed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"
#include "gguf/gguf.h"

namespace flashslim::gguf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GGUF parsing assumes a little-endian host");

// Limits far above any real model (llama 405B has ~1.1k tensors and ~50 keys;
// the largest vocabularies have ~256k tokens) that keep hostile counts from
// driving allocation.
constexpr uint64_t kMaxTensors = 1 << 20;
constexpr uint64_t kMaxKeys = 1 << 20;
constexpr uint64_t kMaxArrayElements = 1 << 26;
constexpr uint64_t kMaxKeyBytes = 65535;  // GGUF spec: keys are at most 2^16-1 bytes
constexpr uint64_t kMaxTensorNameBytes = 65535;
constexpr uint32_t kMaxDims = 4;
// Smallest encodings, used to bound counts by the bytes left in the file:
// a key/value is key length (8) + type (4) + at least one value byte; a tensor
// info is name length (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
constexpr uint64_t kMinKeyValueBytes = 13;
constexpr uint64_t kMinTensorInfoBytes = 32;

// Where header bytes come from: a file (pread) or memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Copies exactly n bytes at `offset`; REQUIRES offset + n <= size().
  virtual void read(uint64_t offset, void* dst, size_t n) = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t offset, void* dst, size_t n) override {
    if (n) std::memcpy(dst, bytes_.data() + offset, n);
  }

 private:
  std::span<const uint8_t> bytes_;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      int err = errno;
      ::close(fd_);
      fail("{}: cannot stat: {}", path, std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail("{}: not a regular file", path);
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }
  void read(uint64_t offset, void* dst, size_t n) override {
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
      ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail("{}: read error at byte {}: {}", path_, offset, std::strerror(errno));
      if (got == 0) fail("{}: file shrank while reading at byte {}", path_, offset);
      out += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<size_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong encodings, UTF-16 surrogates and code points past U+10FFFF.
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

bool is_valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

// Bytes of one scalar of type t; strings count their 8-byte length prefix.
uint64_t min_encoded_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
    case ValueType::STRING:
      return 8;
    case ValueType::ARRAY:
      return 12;  // element type + count
  }
  return 1;
}

// Parses one GGUF header. `where_` names the item being parsed so every error
// reads "<file>: <item> at byte <offset>: <problem>".
class Parser {
 public:
  Parser(ByteSource& src, std::string name) : src_(src), name_(std::move(name)) {}

  File parse() {
    File f;
    f.path = name_;
    f.file_size = src_.size();
    parse_header(f);
    for (uint64_t i = 0; i < kv_count_; ++i) parse_key_value(f, i);
    parse_alignment(f);
    for (uint64_t i = 0; i < tensor_count_; ++i) parse_tensor_info(f, i);
    // The data section starts at the first aligned byte after the tensor index.
    f.data_offset = (pos_ + f.alignment - 1) / f.alignment * f.alignment;
    // Tensor-less files (vocabularies) may end before that padding.
    if (f.tensors.empty()) f.data_offset = std::min(f.data_offset, f.file_size);
    place_tensor_data(f);
    return f;
  }

 private:
  [[noreturn]] void error_at(uint64_t offset, const std::string& problem) const {
    fail("{}: {} at byte {}: {}", name_, where_, offset, problem);
  }

  uint64_t remaining() const { return src_.size() - pos_; }

  // Reads n bytes at the cursor; `field` names them for the truncation error.
  void read(void* dst, size_t n, std::string_view field) {
    if (n > remaining())
      error_at(pos_, fmt::format("file ends while reading {} (needs {} bytes, {} left)", field, n,
                                 remaining()));
    auto* out = static_cast<uint8_t*>(dst);
    if (n > kBufferBytes) {
      src_.read(pos_, out, n);
      pos_ += n;
      return;
    }
    if (pos_ < buf_start_ || pos_ + n > buf_start_ + buf_.size()) {
      buf_.resize(static_cast<size_t>(std::min<uint64_t>(kBufferBytes, remaining())));
      src_.read(pos_, buf_.data(), buf_.size());
      buf_start_ = pos_;
    }
    std::memcpy(out, buf_.data() + (pos_ - buf_start_), n);
    pos_ += n;
  }

  template <typename T>
  T read_scalar(std::string_view field) {
    T v;
    read(&v, sizeof v, field);
    return v;
  }

  std::string read_string(std::string_view field, uint64_t max_bytes) {
    uint64_t at = pos_;
    auto len = read_scalar<uint64_t>(fmt::format("the length of {}", field));
    if (len > remaining())
      error_at(at, fmt::format("{} length {} exceeds the {} bytes left in the file", field, len,
                               remaining()));
    if (len > max_bytes)
      error_at(at, fmt::format("{} length {} exceeds the limit of {}", field, len, max_bytes));
    std::string s(static_cast<size_t>(len), '\0');
    read(s.data(), s.size(), field);
    return s;
  }

  void check_count(uint64_t at, std::string_view what, uint64_t count, uint64_t min_bytes_each,
                   uint64_t limit) {
    if (count > remaining() / min_bytes_each)
      error_at(at, fmt::format("{} {} cannot fit in the {} bytes left in the file", what, count,
                               remaining()));
    if (count > limit)
      error_at(at, fmt::format("{} {} exceeds the limit of {}", what, count, limit));
  }

  void parse_header(File& f) {
    where_ = "header";
    uint64_t at = pos_;
    char magic[4];
    read(magic, 4, "the magic");
    if (std::memcmp(magic, "GGUF", 4) != 0) {
      std::string shown;
      for (char c : magic)
        shown += (c >= 0x20 && c < 0x7F) ? std::string(1, c) : fmt::format("\\x{:02x}", uint8_t(c));
      error_at(at, fmt::format("bad magic '{}' (expected 'GGUF'; not a GGUF file)", shown));
    }
    at = pos_;
    f.version = read_scalar<uint32_t>("the version");
    if (f.version == 0x02000000 || f.version == 0x03000000)
      error_at(at, "big-endian GGUF files are not supported");
    if (f.version != 2 && f.version != 3)
      error_at(at, fmt::format("unsupported version {} (expected 2 or 3)", f.version));
    at = pos_;
    tensor_count_ = read_scalar<uint64_t>("the tensor count");
    at_tensor_count_ = at;
    at = pos_;
    kv_count_ = read_scalar<uint64_t>("the metadata count");
    check_count(at, "metadata count", kv_count_, kMinKeyValueBytes, kMaxKeys);
    // The tensor count is bounded again after the metadata, when fewer bytes are left.
    check_count(at_tensor_count_, "tensor count", tensor_count_, kMinTensorInfoBytes, kMaxTensors);
  }

  void parse_key_value(File& f, uint64_t index) {
    where_ = fmt::format("metadata entry {}", index);
    uint64_t at = pos_;
    std::string key = read_string("the key", kMaxKeyBytes);
    if (key.empty()) error_at(at, "empty key");
    if (!is_valid_utf8(key)) error_at(at, "key is not valid UTF-8");
    where_ = fmt::format("metadata key '{}'", key);
    if (f.meta.find(key)) error_at(at, "duplicate key");
    if (key == "general.alignment") alignment_at_ = pos_;
    Value v;
    v.type = read_value_type("the value type");
    read_value(v, v.type);
    f.meta.add(std::move(key), std::move(v));
  }

  ValueType read_value_type(std::string_view field) {
    uint64_t at = pos_;
    auto t = read_scalar<uint32_t>(field);
    if (!is_valid_value_type(t)) error_at(at, fmt::format("unknown value type {}", t));
    return static_cast<ValueType>(t);
  }

  // Fills the field of `v` for a scalar of type t, or the whole array.
  void read_value(Value& v, ValueType t) {
    switch (t) {
      case ValueType::UINT8:
        v.u = read_scalar<uint8_t>("a uint8 value");
        break;
      case ValueType::UINT16:
        v.u = read_scalar<uint16_t>("a uint16 value");
        break;
      case ValueType::UINT32:
        v.u = read_scalar<uint32_t>("a uint32 value");
        break;
      case ValueType::UINT64:
        v.u = read_scalar<uint64_t>("a uint64 value");
        break;
      case ValueType::INT8:
        v.i = read_scalar<int8_t>("an int8 value");
        break;
      case ValueType::INT16:
        v.i = read_scalar<int16_t>("an int16 value");
        break;
      case ValueType::INT32:
        v.i = read_scalar<int32_t>("an int32 value");
        break;
      case ValueType::INT64:
        v.i = read_scalar<int64_t>("an int64 value");
        break;
      case ValueType::FLOAT32:
        v.f = read_scalar<float>("a float32 value");
        break;
      case ValueType::FLOAT64:
        v.f = read_scalar<double>("a float64 value");
        break;
      case ValueType::BOOL: {
        uint64_t at = pos_;
        v.u = read_scalar<uint8_t>("a bool value");
        if (v.u > 1) error_at(at, fmt::format("bool value {} is neither 0 nor 1", v.u));
        break;
      }
      case ValueType::STRING:
        v.s = read_string("a string value", remaining());
        break;
      case ValueType::ARRAY:
        read_array(v);
        break;
    }
  }

  void read_array(Value& v) {
    uint64_t at = pos_;
    v.elem_type = read_value_type("the array element type");
    if (v.elem_type == ValueType::ARRAY) error_at(at, "arrays of arrays are not supported");
    at = pos_;
    v.array_size = read_scalar<uint64_t>("the array length");
    check_count(at, fmt::format("array length ({}[])", value_type_name(v.elem_type)), v.array_size,
                min_encoded_size(v.elem_type), kMaxArrayElements);
    // Bounded by the bytes left, so this reservation is at most 8x the file.
    const auto n = static_cast<size_t>(v.array_size);
    Value elem;
    if (v.elem_type == ValueType::STRING) {
      v.strings.reserve(n);
      for (size_t k = 0; k < n; ++k)
        v.strings.push_back(read_string("an array string", remaining()));
    } else if (is_float_type(v.elem_type)) {
      v.floats.reserve(n);
      for (size_t k = 0; k < n; ++k) {
        read_value(elem, v.elem_type);
        v.floats.push_back(elem.f);
      }
    } else if (is_signed_type(v.elem_type)) {
      v.ints.reserve(n);
      for (size_t k = 0; k < n; ++k) {
        read_value(elem, v.elem_type);
        v.ints.push_back(elem.i);
      }
    } else {  // unsigned integers and bools
      v.uints.reserve(n);
      for (size_t k = 0; k < n; ++k) {
        read_value(elem, v.elem_type);
        v.uints.push_back(elem.u);
      }
    }
  }

  void parse_alignment(File& f) {
    const Value* a = f.meta.find("general.alignment");
    if (!a) return;
    where_ = "metadata key 'general.alignment'";
    if (a->type != ValueType::UINT32)
      error_at(alignment_at_,
               fmt::format("has type {}, expected uint32", value_type_name(a->type)));
    if (!std::has_single_bit(a->u))
      error_at(alignment_at_, fmt::format("alignment {} is not a power of two", a->u));
    f.alignment = a->u;
  }

  void parse_tensor_info(File& f, uint64_t index) {
    if (index == 0) {
      where_ = "header";
      check_count(at_tensor_count_, "tensor count", tensor_count_, kMinTensorInfoBytes,
                  kMaxTensors);
      f.tensors.reserve(static_cast<size_t>(tensor_count_));
      offset_field_at_.reserve(static_cast<size_t>(tensor_count_));
    }
    where_ = fmt::format("tensor {}", index);
    TensorInfo t;
    uint64_t at = pos_;
    t.name = read_string("the tensor name", kMaxTensorNameBytes);
    where_ = fmt::format("tensor '{}' (index {})", t.name, index);
    if (!names_.insert(t.name).second) error_at(at, "duplicate tensor name");

    at = pos_;
    t.n_dims = read_scalar<uint32_t>("n_dims");
    if (t.n_dims < 1 || t.n_dims > kMaxDims)
      error_at(at, fmt::format("n_dims {} is not in 1..{}", t.n_dims, kMaxDims));
    int64_t elements = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      at = pos_;
      auto dim = read_scalar<uint64_t>("a dimension");
      if (dim == 0 || dim > uint64_t(std::numeric_limits<int64_t>::max()))
        error_at(at, fmt::format("dimension {} is {} (must be in 1..2^63-1)", d, dim));
      t.ne[d] = static_cast<int64_t>(dim);
      if (__builtin_mul_overflow(elements, t.ne[d], &elements))
        error_at(at, "the product of the dimensions overflows int64");
    }

    at = pos_;
    auto type_id = read_scalar<uint32_t>("the tensor type");
    std::optional<GgmlType> type = ggml_type_from_id(type_id);
    if (!type) error_at(at, fmt::format("unknown tensor type id {}", type_id));
    t.type = *type;
    const TypeTraits& traits = type_traits(t.type);
    if (t.ne[0] % traits.block_size != 0)
      error_at(at, fmt::format("row length ne[0] = {} is not a multiple of the {} block size {}",
                               t.ne[0], traits.name, traits.block_size));
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(row_bytes(t.type, t.ne[0])),
                               static_cast<uint64_t>(t.rows()), &nbytes))
      error_at(at, "the tensor byte size overflows uint64");
    t.nbytes = nbytes;

    at = pos_;
    t.offset = read_scalar<uint64_t>("the data offset");  // relative until place_tensor_data
    if (t.offset % f.alignment != 0)
      error_at(at, fmt::format("data offset {} is not aligned to {}", t.offset, f.alignment));
    offset_field_at_.push_back(at);
    f.tensors.push_back(std::move(t));
  }

  // Makes tensor offsets absolute and checks that each tensor's bytes lie
  // inside the file and that no two tensors share bytes.
  void place_tensor_data(File& f) {
    const uint64_t size = src_.size();
    for (size_t i = 0; i < f.tensors.size(); ++i) {
      TensorInfo& t = f.tensors[i];
      where_ = fmt::format("tensor '{}' (index {})", t.name, i);
      if (f.data_offset > size || t.offset > size - f.data_offset ||
          t.nbytes > size - f.data_offset - t.offset)
        error_at(offset_field_at_[i],
                 fmt::format("data [{}, +{}) relative to the data section at byte {} lies outside "
                             "the file ({} bytes)",
                             t.offset, t.nbytes, f.data_offset, size));
      t.offset += f.data_offset;
    }
    std::vector<size_t> order(f.tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return f.tensors[a].offset < f.tensors[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& prev = f.tensors[order[k - 1]];
      const TensorInfo& cur = f.tensors[order[k]];
      if (cur.offset < prev.offset + prev.nbytes) {
        where_ = fmt::format("tensor '{}' (index {})", cur.name, order[k]);
        error_at(offset_field_at_[order[k]],
                 fmt::format("data [{}, {}) overlaps tensor '{}' data [{}, {})", cur.offset,
                             cur.offset + cur.nbytes, prev.name, prev.offset,
                             prev.offset + prev.nbytes));
      }
    }
  }

  static constexpr size_t kBufferBytes = 1 << 20;

  ByteSource& src_;
  std::string name_;
  std::string where_;
  uint64_t pos_ = 0;
  std::vector<uint8_t> buf_;
  uint64_t buf_start_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t at_tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  uint64_t alignment_at_ = 0;  // byte offset of general.alignment's value type
  std::set<std::string, std::less<>> names_;
  std::vector<uint64_t> offset_field_at_;  // byte offset of each tensor's offset field
};

}  // namespace

File read_file(const std::string& path) {
  FileSource src(path);
  return Parser(src, path).parse();
}

File parse_buffer(std::span<const uint8_t> bytes, const std::string& name) {
  MemorySource src(bytes);
  return Parser(src, name).parse();
}

}  // namespace flashslim::gguf
