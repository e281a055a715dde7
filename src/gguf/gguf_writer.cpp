// Streaming GGUF writer: the header is built in memory (it is small), tensor
// data passes straight through a buffered FILE to disk. The file is written as
// "<path>.partial" and renamed by finish(), so an interrupted write never
// leaves a truncated file under the final name.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "gguf/gguf.h"

namespace flashslim::gguf {
namespace {

constexpr size_t kStreamBufferBytes = 4 << 20;

Value typed(ValueType type, ValueType elem_type = ValueType::UINT8) {
  Value v;
  v.type = type;
  v.elem_type = elem_type;
  return v;
}

uint64_t align_up(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// Little-endian serialization into the in-memory header.
class HeaderBuilder {
 public:
  template <typename T>
  void scalar(T v) {
    static_assert(std::endian::native == std::endian::little);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void string(std::string_view s) {
    scalar<uint64_t>(s.size());
    bytes_.append(s);
  }
  void value(const Value& v, ValueType t) {
    switch (t) {
      case ValueType::UINT8:
        scalar(static_cast<uint8_t>(v.u));
        break;
      case ValueType::UINT16:
        scalar(static_cast<uint16_t>(v.u));
        break;
      case ValueType::UINT32:
        scalar(static_cast<uint32_t>(v.u));
        break;
      case ValueType::UINT64:
        scalar(v.u);
        break;
      case ValueType::BOOL:
        scalar(static_cast<uint8_t>(v.u != 0));
        break;
      case ValueType::INT8:
        scalar(static_cast<int8_t>(v.i));
        break;
      case ValueType::INT16:
        scalar(static_cast<int16_t>(v.i));
        break;
      case ValueType::INT32:
        scalar(static_cast<int32_t>(v.i));
        break;
      case ValueType::INT64:
        scalar(v.i);
        break;
      case ValueType::FLOAT32:
        scalar(static_cast<float>(v.f));
        break;
      case ValueType::FLOAT64:
        scalar(v.f);
        break;
      case ValueType::STRING:
        string(v.s);
        break;
      case ValueType::ARRAY:
        array(v);
        break;
    }
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void array(const Value& v) {
    scalar(static_cast<uint32_t>(v.elem_type));
    Value elem;
    auto each = [&](const auto& items, auto set) {
      scalar<uint64_t>(items.size());
      for (const auto& item : items) {
        set(elem, item);
        value(elem, v.elem_type);
      }
    };
    if (v.elem_type == ValueType::STRING)
      each(v.strings, [](Value& e, const std::string& s) { e.s = s; });
    else if (is_float_type(v.elem_type))
      each(v.floats, [](Value& e, double f) { e.f = f; });
    else if (is_signed_type(v.elem_type))
      each(v.ints, [](Value& e, int64_t i) { e.i = i; });
    else
      each(v.uints, [](Value& e, uint64_t u) { e.u = u; });
  }

  std::string bytes_;
};

}  // namespace

struct Writer::Impl {
  std::string path;
  std::string partial_path;
  uint32_t version;
  uint64_t alignment;
  Metadata meta;
  std::vector<TensorInfo> tensors;  // offsets relative to the data section
  uint64_t data_bytes = 0;          // data section size so far, padded
  std::FILE* out = nullptr;
  std::vector<char> stream_buffer;
  uint64_t written = 0;       // bytes written to the file
  uint64_t data_start = 0;    // file offset of the data section
  size_t current = 0;         // tensor receiving data
  uint64_t current_fill = 0;  // bytes it has received
  bool header_written = false;
  bool finished = false;

  void write(const void* data, size_t n) {
    if (n && std::fwrite(data, 1, n, out) != n)
      fail("{}: write error at byte {}: {}", partial_path, written, std::strerror(errno));
    written += n;
  }
  void pad_to(uint64_t target) {
    static constexpr char kZeros[256] = {};
    while (written < target) write(kZeros, std::min<uint64_t>(sizeof kZeros, target - written));
  }
  // Finished tensors are followed by padding to the next aligned offset.
  void advance_past_full_tensors() {
    while (current < tensors.size() && current_fill == tensors[current].nbytes) {
      pad_to(data_start + align_up(tensors[current].offset + tensors[current].nbytes, alignment));
      ++current;
      current_fill = 0;
    }
  }
};

Writer::Writer(std::string path, uint32_t version, uint64_t alignment)
    : impl_(std::make_unique<Impl>()) {
  if (version != 2 && version != 3) fail("{}: cannot write GGUF version {}", path, version);
  if (!std::has_single_bit(alignment) || alignment > UINT32_MAX)
    fail("{}: alignment {} is not a power of two that fits uint32", path, alignment);
  impl_->path = std::move(path);
  impl_->partial_path = impl_->path + ".partial";
  impl_->version = version;
  impl_->alignment = alignment;
}

Writer::~Writer() {
  if (impl_->out) std::fclose(impl_->out);
  if (impl_->header_written && !impl_->finished) std::remove(impl_->partial_path.c_str());
}

void Writer::set(std::string key, Value v) {
  if (impl_->header_written) fail("{}: metadata '{}' set after the header", impl_->path, key);
  if (key.empty()) fail("{}: empty metadata key", impl_->path);
  if (v.type == ValueType::ARRAY && v.elem_type == ValueType::ARRAY)
    fail("{}: metadata '{}': arrays of arrays are not supported", impl_->path, key);
  if (key == "general.alignment")
    fail("{}: general.alignment is set from the Writer's alignment argument", impl_->path);
  impl_->meta.set(std::move(key), std::move(v));
}

void Writer::set_uint32(std::string key, uint32_t v) {
  Value value = typed(ValueType::UINT32);
  value.u = v;
  set(std::move(key), std::move(value));
}

void Writer::set_float32(std::string key, float v) {
  Value value = typed(ValueType::FLOAT32);
  value.f = v;
  set(std::move(key), std::move(value));
}

void Writer::set_bool(std::string key, bool v) {
  Value value = typed(ValueType::BOOL);
  value.u = v;
  set(std::move(key), std::move(value));
}

void Writer::set_string(std::string key, std::string v) {
  Value value = typed(ValueType::STRING);
  value.s = std::move(v);
  set(std::move(key), std::move(value));
}

void Writer::set_string_array(std::string key, std::vector<std::string> v) {
  Value value = typed(ValueType::ARRAY, ValueType::STRING);
  value.array_size = v.size();
  value.strings = std::move(v);
  set(std::move(key), std::move(value));
}

void Writer::set_float32_array(std::string key, std::vector<float> v) {
  Value value = typed(ValueType::ARRAY, ValueType::FLOAT32);
  value.array_size = v.size();
  value.floats.assign(v.begin(), v.end());
  set(std::move(key), std::move(value));
}

void Writer::set_int32_array(std::string key, std::vector<int32_t> v) {
  Value value = typed(ValueType::ARRAY, ValueType::INT32);
  value.array_size = v.size();
  value.ints.assign(v.begin(), v.end());
  set(std::move(key), std::move(value));
}

size_t Writer::add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne) {
  Impl& w = *impl_;
  if (w.header_written) fail("{}: tensor '{}' added after the header", w.path, name);
  if (name.empty()) fail("{}: empty tensor name", w.path);
  for (const TensorInfo& t : w.tensors)
    if (t.name == name) fail("{}: duplicate tensor '{}'", w.path, name);
  if (ne.empty() || ne.size() > 4)
    fail("{}: tensor '{}' has {} dimensions (must be 1..4)", w.path, name, ne.size());
  TensorInfo t;
  t.name = std::move(name);
  t.type = type;
  t.n_dims = static_cast<uint32_t>(ne.size());
  int64_t elements = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] <= 0 || __builtin_mul_overflow(elements, ne[d], &elements))
      fail("{}: tensor '{}' dimension {} = {} is invalid", w.path, t.name, d, ne[d]);
    t.ne[d] = ne[d];
  }
  const TypeTraits& traits = type_traits(type);
  if (t.ne[0] % traits.block_size != 0)
    fail("{}: tensor '{}' row length {} is not a multiple of the {} block size {}", w.path, t.name,
         t.ne[0], traits.name, traits.block_size);
  t.nbytes = row_bytes(type, t.ne[0]) * static_cast<uint64_t>(t.rows());
  t.offset = w.data_bytes;
  w.data_bytes = align_up(t.offset + t.nbytes, w.alignment);
  w.tensors.push_back(std::move(t));
  return w.tensors.size() - 1;
}

void Writer::write_header() {
  Impl& w = *impl_;
  if (w.header_written) fail("{}: header written twice", w.path);
  HeaderBuilder h;
  h.scalar<uint32_t>(0x46554747);  // "GGUF" read as a little-endian uint32
  h.scalar<uint32_t>(w.version);
  h.scalar<uint64_t>(w.tensors.size());
  const bool default_alignment = w.alignment == 32;
  h.scalar<uint64_t>(w.meta.entries().size() + (default_alignment ? 0 : 1));
  if (!default_alignment) {
    h.string("general.alignment");
    h.scalar(static_cast<uint32_t>(ValueType::UINT32));
    h.scalar(static_cast<uint32_t>(w.alignment));
  }
  for (const auto& [key, v] : w.meta.entries()) {
    h.string(key);
    h.scalar(static_cast<uint32_t>(v.type));
    h.value(v, v.type);
  }
  for (const TensorInfo& t : w.tensors) {
    h.string(t.name);
    h.scalar(t.n_dims);
    for (uint32_t d = 0; d < t.n_dims; ++d) h.scalar(static_cast<uint64_t>(t.ne[d]));
    h.scalar(static_cast<uint32_t>(t.type));
    h.scalar(t.offset);
  }

  w.out = std::fopen(w.partial_path.c_str(), "wb");
  if (!w.out) fail("{}: cannot create: {}", w.partial_path, std::strerror(errno));
  w.header_written = true;
  w.stream_buffer.resize(kStreamBufferBytes);
  std::setvbuf(w.out, w.stream_buffer.data(), _IOFBF, w.stream_buffer.size());
  w.write(h.bytes().data(), h.bytes().size());
  w.data_start = align_up(w.written, w.alignment);
  w.pad_to(w.data_start);
}

void Writer::write_data(std::span<const uint8_t> bytes) {
  Impl& w = *impl_;
  if (!w.header_written) fail("{}: tensor data written before the header", w.path);
  if (w.finished) fail("{}: tensor data written after finish()", w.path);
  if (w.current == w.tensors.size())
    fail("{}: {} bytes of data beyond the last tensor", w.path, bytes.size());
  const TensorInfo& t = w.tensors[w.current];
  if (bytes.size() > t.nbytes - w.current_fill)
    fail("{}: tensor '{}' (index {}) would receive {} bytes, more than its {}", w.path, t.name,
         w.current, w.current_fill + bytes.size(), t.nbytes);
  w.write(bytes.data(), bytes.size());
  w.current_fill += bytes.size();
  w.advance_past_full_tensors();
}

void Writer::finish() {
  Impl& w = *impl_;
  if (!w.header_written) fail("{}: finish() before the header", w.path);
  if (w.finished) return;
  if (w.current < w.tensors.size())
    fail("{}: tensor '{}' (index {}) received {} of its {} bytes", w.path,
         w.tensors[w.current].name, w.current, w.current_fill, w.tensors[w.current].nbytes);
  std::FILE* out = std::exchange(w.out, nullptr);
  if (std::fflush(out) != 0 || std::ferror(out)) {
    int err = errno;
    std::fclose(out);
    fail("{}: write error: {}", w.partial_path, std::strerror(err));
  }
  if (std::fclose(out) != 0) fail("{}: close error: {}", w.partial_path, std::strerror(errno));
  if (std::rename(w.partial_path.c_str(), w.path.c_str()) != 0)
    fail("{}: cannot rename to {}: {}", w.partial_path, w.path, std::strerror(errno));
  w.finished = true;
}

}  // namespace flashslim::gguf
