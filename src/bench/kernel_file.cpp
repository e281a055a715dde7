#include "bench/kernel_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/error.h"

namespace flashslim::bench {
namespace {

// Reads until EOF; /proc files report size 0, so the size cannot be known up front.
bool read_all(const std::filesystem::path& path, std::string& out, int& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return false;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// The rest of the line after `key` and its separator (":" and/or blanks).
std::optional<std::string_view> find_keyed_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.size() <= key.size() || line.substr(0, key.size()) != key) continue;
    std::string_view rest = line.substr(key.size());
    if (rest.front() == ':') rest.remove_prefix(1);
    if (rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) continue;
    return rest;
  }
  return std::nullopt;
}

}  // namespace

std::string read_kernel_file(const std::filesystem::path& path) {
  std::string text;
  int error = 0;
  if (!read_all(path, text, error)) fail("cannot read {}: {}", path.string(), std::strerror(error));
  return text;
}

std::optional<std::string> try_read_kernel_file(const std::filesystem::path& path) {
  std::string text;
  int error = 0;
  if (!read_all(path, text, error)) return std::nullopt;
  return text;
}

uint64_t read_kernel_u64(const std::filesystem::path& path) {
  const std::string text = read_kernel_file(path);
  const std::optional<uint64_t> value = parse_u64(text);
  if (!value) fail("{}: expected an unsigned number, found '{}'", path.string(), text);
  return *value;
}

void write_kernel_file(const std::filesystem::path& path, std::string_view value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {} for writing: {}", path.string(), std::strerror(errno));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int error = errno;
  ::close(fd);
  if (n < 0) fail("cannot write '{}' to {}: {}", value, path.string(), std::strerror(error));
  if (static_cast<size_t>(n) != value.size())
    fail("short write of '{}' to {}: {} of {} bytes", value, path.string(), n, value.size());
}

std::optional<uint64_t> find_keyed_u64(std::string_view text, std::string_view key) {
  const std::optional<std::string_view> value = find_keyed_value(text, key);
  return value ? parse_u64(*value) : std::nullopt;
}

std::optional<uint64_t> find_meminfo_bytes(std::string_view meminfo, std::string_view key) {
  std::optional<std::string_view> value = find_keyed_value(meminfo, key);
  if (!value) return std::nullopt;
  constexpr std::string_view kKib = " kB";
  if (!value->ends_with(kKib)) return parse_u64(*value);
  value->remove_suffix(kKib.size());
  const std::optional<uint64_t> kib = parse_u64(*value);
  return kib ? std::optional<uint64_t>(*kib * 1024) : std::nullopt;
}

}  // namespace flashslim::bench
