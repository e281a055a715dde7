// Storage backends read the same bytes, async queues return every completion,
// injected faults and truncated files end in clean errors, and the page-cache
// helpers see evictions.
#include "storage/storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "storage/aligned_buffer.h"
#include "storage/fault_injecting_storage.h"
#include "storage/page_cache.h"

namespace flashslim::storage {
namespace {

namespace fs = std::filesystem;

// 8 MiB plus an odd tail, so the last O_DIRECT block is partial.
constexpr uint64_t kFileBytes = (8u << 20) + 1234;

uint8_t expected_byte(uint64_t offset) {
  return static_cast<uint8_t>((offset * 2654435761u) >> 13 ^ offset);
}

// A file with known content on a disk filesystem (O_DIRECT fails on tmpfs),
// removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(uint64_t bytes) {
    fs::path dir = fs::exists("/var/tmp") ? fs::path("/var/tmp") : fs::temp_directory_path();
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = test->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests: "Test/param"
    path_ =
        (dir / ("flashslim_storage_" + std::to_string(::getpid()) + "_" + name + ".bin")).string();
    std::vector<char> data(bytes);
    for (uint64_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(expected_byte(i));
    std::ofstream(path_, std::ios::binary).write(data.data(), static_cast<std::streamsize>(bytes));
  }
  ~TempFile() { fs::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Checks dst against the file's content at offset; bytes past the file are 0.
void expect_content(uint64_t offset, std::span<const uint8_t> dst, uint64_t file_bytes) {
  for (uint64_t i = 0; i < dst.size(); ++i) {
    uint8_t want = offset + i < file_bytes ? expected_byte(offset + i) : 0;
    if (dst[i] != want) {
      ADD_FAILURE() << "byte " << offset + i << ": got " << int(dst[i]) << ", want " << int(want);
      return;
    }
  }
}

// A random read obeying the Storage's rules: aligned, within align_up(size).
struct Range {
  uint64_t offset;
  uint64_t length;
};
Range random_range(std::mt19937_64& rng, const Storage& storage, uint64_t max_length) {
  const uint64_t align = storage.alignment();
  const uint64_t limit = align_up(storage.size(), align);
  uint64_t offset = align_down(rng() % limit, align);
  uint64_t length = align_up(1 + rng() % max_length, align);
  return {offset, std::min(length, limit - offset)};
}

struct Backend {
  const char* name;
  StorageKind kind;
  StorageOptions options;
  const char* description;  // what Storage::description() must report
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

StorageOptions uring_options(bool use_io_uring, bool direct_io) {
  StorageOptions options;
  options.use_io_uring = use_io_uring;
  options.direct_io = direct_io;
  return options;
}

const Backend kBackends[] = {
    {"whole", StorageKind::WholeFile, {}, "whole file in memory"},
    {"mmap", StorageKind::Mmap, {}, "mmap (page faults)"},
    {"pread", StorageKind::Pread, {}, "pread (buffered)"},
    {"uring_direct", StorageKind::UringDirect, uring_options(true, true), "io_uring O_DIRECT"},
    {"pool_direct", StorageKind::UringDirect, uring_options(false, true), "pread pool O_DIRECT"},
    {"uring_buffered", StorageKind::UringDirect, uring_options(true, false), "io_uring buffered"},
};

class StorageBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  std::unique_ptr<Storage> open(const std::string& path) {
    return open_storage(path, GetParam().kind, GetParam().options);
  }
};

TEST_P(StorageBackendTest, SyncReadsOfRandomRangesMatchTheFile) {
  TempFile file(kFileBytes);
  auto storage = open(file.path());
  ASSERT_EQ(storage->size(), kFileBytes);
  ASSERT_EQ(storage->path(), file.path());
  // The file lives on a disk filesystem with io_uring available, so nothing degrades.
  ASSERT_EQ(storage->description(), GetParam().description);
  std::mt19937_64 rng(42);
  uint64_t bytes = 0;
  for (int i = 0; i < 200; ++i) {
    Range range = random_range(rng, *storage, 300000);
    AlignedBuffer buffer(range.length);
    storage->read(range.offset, buffer.span());
    expect_content(range.offset, buffer.span(), kFileBytes);
    bytes += std::min(range.length, kFileBytes - range.offset);
  }
  if (GetParam().kind != StorageKind::WholeFile) {
    IoStats stats = storage->stats();
    EXPECT_EQ(stats.reads, 200u);
    EXPECT_EQ(stats.bytes, bytes);
    EXPECT_GT(stats.read_ns, 0u);
  }
}

TEST_P(StorageBackendTest, ReadsTheUnalignedTailOfTheFile) {
  TempFile file(kFileBytes);
  auto storage = open(file.path());
  uint64_t offset = align_down(kFileBytes - 100, storage->alignment());
  uint64_t length = align_up(kFileBytes, storage->alignment()) - offset;
  AlignedBuffer buffer(length);
  std::fill(buffer.data(), buffer.data() + length, 0xAB);
  storage->read(offset, buffer.span());
  expect_content(offset, buffer.span(), kFileBytes);
}

TEST_P(StorageBackendTest, SixteenAsyncReadsInFlightAllCompleteWithTheirTags) {
  TempFile file(kFileBytes);
  auto storage = open(file.path());
  std::mt19937_64 rng(7);
  struct Pending {
    Range range;
    AlignedBuffer buffer;
  };
  std::map<uint64_t, Pending> pending;  // by tag; declared first: outlives the queue's reads
  auto queue = storage->make_queue(16);
  ASSERT_EQ(queue->capacity(), 16u);
  uint64_t next_tag = 1000, completed = 0;
  const uint64_t total = 100;
  while (completed < total) {
    while (next_tag < 1000 + total && queue->in_flight() < queue->capacity()) {
      Range range = random_range(rng, *storage, 1 << 20);
      Pending& p = pending[next_tag] = Pending{range, AlignedBuffer(range.length)};
      queue->submit({range.offset, p.buffer.span(), next_tag});
      ++next_tag;
    }
    if (next_tag == 1000 + 16) {
      EXPECT_EQ(queue->in_flight(), 16u);  // the queue really holds 16 at once
    }
    ReadCompletion completion = queue->wait_one();
    ASSERT_TRUE(completion.ok()) << completion.error;
    auto it = pending.find(completion.tag);
    ASSERT_NE(it, pending.end()) << "unknown or repeated tag " << completion.tag;
    const Range& range = it->second.range;
    EXPECT_EQ(completion.bytes, std::min(range.length, kFileBytes - range.offset));
    expect_content(range.offset, it->second.buffer.span(), kFileBytes);
    pending.erase(it);
    ++completed;
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(queue->in_flight(), 0u);
  EXPECT_FALSE(queue->poll().has_value());
  EXPECT_THROW(queue->wait_one(), Error);  // nothing in flight: an error, not a hang
}

TEST_P(StorageBackendTest, QueueRefusesMoreThanItsCapacity) {
  TempFile file(kFileBytes);
  auto storage = open(file.path());
  std::vector<AlignedBuffer> buffers;  // declared first: must outlive the queue's reads
  for (int i = 0; i < 3; ++i) buffers.emplace_back(65536);
  auto queue = storage->make_queue(2);
  queue->submit({0, buffers[0].span(), 0});
  queue->submit({65536, buffers[1].span(), 1});
  EXPECT_THROW(queue->submit({131072, buffers[2].span(), 2}), Error);
  // Destroying the queue with reads in flight waits for them.
}

TEST_P(StorageBackendTest, ReadPastTheEndIsAnErrorNamingThePath) {
  TempFile file(kFileBytes);
  auto storage = open(file.path());
  AlignedBuffer buffer(align_up(8192, storage->alignment()));
  try {
    storage->read(align_up(kFileBytes, storage->alignment()), buffer.span());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.path()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("past the end"), std::string::npos) << e.what();
  }
}

TEST_P(StorageBackendTest, TruncatedFileGivesShortReadErrorNotAHang) {
  TempFile file(kFileBytes);
  auto storage = open(file.path());
  const uint64_t cut = (4u << 20) + 100;  // mid-block, so O_DIRECT sees a partial block
  fs::resize_file(file.path(), cut);
  const uint64_t offset = 4u << 20, length = 1u << 20;
  AlignedBuffer sync_buffer(length), async_buffer(length);
  if (GetParam().kind == StorageKind::WholeFile) {
    storage->read(offset, sync_buffer.span());  // a snapshot taken at open
    expect_content(offset, sync_buffer.span(), kFileBytes);
    return;
  }
  try {
    storage->read(offset, sync_buffer.span());
    FAIL() << "no error";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.error_code(), ENODATA);
    EXPECT_NE(std::string(e.what()).find("short read"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(offset)), std::string::npos) << e.what();
  }
  auto queue = storage->make_queue(4);
  queue->submit({offset, async_buffer.span(), 9});
  ReadCompletion completion = queue->wait_one();
  EXPECT_EQ(completion.tag, 9u);
  EXPECT_EQ(completion.error_code, ENODATA) << completion.error;
  EXPECT_NE(completion.error.find("short read"), std::string::npos) << completion.error;
  EXPECT_GE(storage->stats().failed_reads, 2u);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StorageBackendTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(StorageTest, MapGivesZeroCopyViewsOnlyForInMemoryBackends) {
  TempFile file(kFileBytes);
  for (StorageKind kind : {StorageKind::WholeFile, StorageKind::Mmap}) {
    auto storage = open_storage(file.path(), kind);
    ASSERT_NE(storage->map(), nullptr) << storage_kind_name(kind);
    expect_content(0, {storage->map(), kFileBytes}, kFileBytes);
  }
  for (StorageKind kind : {StorageKind::Pread, StorageKind::UringDirect}) {
    EXPECT_EQ(open_storage(file.path(), kind)->map(), nullptr) << storage_kind_name(kind);
  }
}

TEST(StorageTest, UringDirectUsesODirectAndRejectsUnalignedReads) {
  TempFile file(kFileBytes);
  auto storage = open_storage(file.path(), StorageKind::UringDirect);
  if (storage->alignment() == 1)
    GTEST_SKIP() << "filesystem refuses O_DIRECT: " << storage->description();
  EXPECT_EQ(storage->alignment(), 4096u);
  EXPECT_EQ(storage->description(), "io_uring O_DIRECT");
  AlignedBuffer buffer(8192);
  EXPECT_THROW(storage->read(100, buffer.span()), Error);
  EXPECT_THROW(storage->read(0, buffer.span().first(1000)), Error);
  EXPECT_THROW(storage->read(0, buffer.span().subspan(512, 4096)), Error);
  auto queue = storage->make_queue(1);
  EXPECT_THROW(queue->submit({100, buffer.span(), 0}), Error);
  EXPECT_EQ(queue->in_flight(), 0u);
}

TEST(StorageTest, HugePagedBufferIsZeroedAndAlignedToAHugePage) {
  for (size_t size : {size_t{4096}, (size_t{3} << 20) + 4096}) {
    AlignedBuffer buffer = AlignedBuffer::huge_paged(size);
    ASSERT_EQ(buffer.size(), size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % AlignedBuffer::kHugePageBytes, 0u);
    EXPECT_TRUE(std::all_of(buffer.data(), buffer.data() + size, [](uint8_t b) { return b == 0; }));
  }
  EXPECT_EQ(AlignedBuffer::huge_paged(0).data(), nullptr);
}

TEST(StorageTest, ParsesAndNamesStorageKinds) {
  for (StorageKind kind :
       {StorageKind::WholeFile, StorageKind::Mmap, StorageKind::Pread, StorageKind::UringDirect}) {
    EXPECT_EQ(parse_storage_kind(storage_kind_name(kind)), kind);
  }
  EXPECT_THROW(parse_storage_kind("direct"), Error);
}

TEST(StorageTest, OpenOfAMissingFileNamesIt) {
  try {
    open_storage("/nonexistent/model.gguf", StorageKind::Pread);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

// --- fault injection ---

std::unique_ptr<FaultInjectingStorage> faulty(const std::string& path, StorageKind kind,
                                              std::vector<FaultRule> rules) {
  return std::make_unique<FaultInjectingStorage>(open_storage(path, kind), std::move(rules));
}

TEST(FaultInjectionTest, EioAtARangeNamesPathAndOffset) {
  TempFile file(kFileBytes);
  for (StorageKind kind : {StorageKind::Pread, StorageKind::UringDirect}) {
    auto storage = faulty(file.path(), kind, {{FaultKind::Eio, 1 << 20, (1 << 20) + 1}});
    AlignedBuffer buffer(65536);
    storage->read(0, buffer.span());  // outside the range: fine
    try {
      storage->read((1 << 20) - 4096, buffer.span());
      FAIL() << "no error";
    } catch (const ReadError& e) {
      EXPECT_EQ(e.error_code(), EIO);
      std::string what = e.what();
      EXPECT_NE(what.find(file.path()), std::string::npos) << what;
      EXPECT_NE(what.find("offset " + std::to_string((1 << 20) - 4096)), std::string::npos) << what;
    }
    AlignedBuffer good(65536);
    auto queue = storage->make_queue(4);
    queue->submit({1 << 20, buffer.span(), 1});
    queue->submit({2 << 20, good.span(), 2});
    std::map<uint64_t, ReadCompletion> completions;
    for (int i = 0; i < 2; ++i) {
      ReadCompletion c = queue->wait_one();
      completions[c.tag] = c;
    }
    EXPECT_EQ(completions[1].error_code, EIO);
    EXPECT_NE(completions[1].error.find("offset " + std::to_string(1 << 20)), std::string::npos);
    EXPECT_TRUE(completions[2].ok()) << completions[2].error;
    expect_content(2 << 20, good.span(), kFileBytes);
    EXPECT_EQ(storage->faults_injected(), 2u);
  }
}

TEST(FaultInjectionTest, ShortReadDeliversThePrefixThenFails) {
  TempFile file(kFileBytes);
  auto storage = faulty(file.path(), StorageKind::UringDirect, {{FaultKind::ShortRead, 40960}});
  AlignedBuffer buffer(65536);
  try {
    storage->read(0, buffer.span());
    FAIL() << "no error";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.error_code(), ENODATA);
    EXPECT_NE(std::string(e.what()).find("short read, got 40960 of 65536"), std::string::npos)
        << e.what();
  }
  expect_content(0, buffer.span().first(40960), kFileBytes);
}

TEST(FaultInjectionTest, TransientFaultHealsAfterItsCount) {
  TempFile file(kFileBytes);
  FaultRule rule{FaultKind::Eio, 0, 4096};
  rule.times = 1;
  auto storage = faulty(file.path(), StorageKind::Pread, {rule});
  AlignedBuffer buffer(4096);
  EXPECT_THROW(storage->read(0, buffer.span()), ReadError);
  storage->read(0, buffer.span());
  expect_content(0, buffer.span(), kFileBytes);
  EXPECT_EQ(storage->faults_injected(), 1u);
  EXPECT_EQ(storage->stats().failed_reads, 1u);
  EXPECT_EQ(storage->stats().reads, 1u);
}

TEST(FaultInjectionTest, DelaysAreAppliedToSyncAndAsyncReads) {
  TempFile file(kFileBytes);
  FaultRule delay{FaultKind::Delay};
  delay.delay_us = 5000;
  auto storage = faulty(file.path(), StorageKind::UringDirect, {delay});
  AlignedBuffer buffer(4096);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) storage->read(0, buffer.span());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  // 8 delayed reads on a 4-thread queue take at least two delays.
  std::vector<AlignedBuffer> buffers;
  for (int i = 0; i < 8; ++i) buffers.emplace_back(4096);
  auto queue = storage->make_queue(8);
  start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < 8; ++i) queue->submit({i * 4096, buffers[i].span(), i});
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(queue->wait_one().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(10));
  EXPECT_EQ(storage->faults_injected(), 12u);
  EXPECT_GE(storage->stats().read_ns, 12u * 5000u * 1000u);
}

TEST(FaultInjectionTest, ParsesTheCommandLineSpec) {
  auto rules = parse_fault_rules("delay=200,eio@1048576-1052672*1,short@4096-8192,delay=5@0-10");
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].kind, FaultKind::Delay);
  EXPECT_EQ(rules[0].delay_us, 200u);
  EXPECT_EQ(rules[0].begin, 0u);
  EXPECT_EQ(rules[1].kind, FaultKind::Eio);
  EXPECT_EQ(rules[1].begin, 1048576u);
  EXPECT_EQ(rules[1].end, 1052672u);
  EXPECT_EQ(rules[1].times, 1u);
  EXPECT_EQ(rules[2].kind, FaultKind::ShortRead);
  EXPECT_EQ(rules[3].end, 10u);
  EXPECT_TRUE(parse_fault_rules("").empty());
  for (const char* bad : {"eio", "eio@5-3", "short@x-9", "slow@0-1", "delay=", "eio@0-9*"}) {
    EXPECT_THROW(parse_fault_rules(bad), Error) << bad;
  }
}

// --- page cache ---

void read_whole_file(const std::string& path, StorageKind kind) {
  auto storage = open_storage(path, kind);
  AlignedBuffer buffer(align_up(storage->size(), storage->alignment()));
  storage->read(0, buffer.span());
}

TEST(PageCacheTest, EvictionDropsResidencyAndODirectKeepsTheFileOut) {
  TempFile file(kFileBytes);
  read_whole_file(file.path(), StorageKind::Pread);
  EXPECT_GT(page_cache_residency(file.path()).fraction(), 0.9);
  evict_file_from_page_cache(file.path());
  PageCacheResidency after = page_cache_residency(file.path());
  EXPECT_EQ(after.file_bytes, kFileBytes);
  EXPECT_LT(after.fraction(), 0.1);
  read_whole_file(file.path(), StorageKind::UringDirect);
  EXPECT_LT(page_cache_residency(file.path()).fraction(), 0.1);
}

TEST(PageCacheTest, DropPageCacheEmptiesItForAFile) {
  // Dropping the machine's whole page cache disturbs everyone's measurements
  // on a shared machine, so this runs only when asked for.
  if (std::getenv("FLASHSLIM_TEST_DROP_CACHES") == nullptr) {
    GTEST_SKIP() << "drops the whole machine's page cache; set FLASHSLIM_TEST_DROP_CACHES=1 to run";
  }
  if (::access("/proc/sys/vm/drop_caches", W_OK) != 0) {
    GTEST_SKIP() << "/proc/sys/vm/drop_caches is not writable here (needs root)";
  }
  TempFile file(kFileBytes);
  read_whole_file(file.path(), StorageKind::Pread);
  EXPECT_GT(page_cache_residency(file.path()).fraction(), 0.9);
  drop_page_cache();
  EXPECT_LT(page_cache_residency(file.path()).fraction(), 0.1);
}

}  // namespace
}  // namespace flashslim::storage
