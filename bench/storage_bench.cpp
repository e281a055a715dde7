// Sequential read throughput of each storage backend over a 256 MiB file, by
// chunk size (256 KiB .. 8 MiB) and reads in flight (1, 4, 16).
//
// cache=warm: the file stays in the page cache between passes, so buffered
// backends (pread, mmap) measure memory copies, not the disk; O_DIRECT never
// uses the page cache. cache=cold: the file is evicted (posix_fadvise) before
// every pass. The host below this VM caches recently written files too, so
// even cold numbers are optimistic; compare backends side by side in one run.
// The file goes to $FLASHSLIM_BENCH_DIR (default /var/tmp: must not be tmpfs).
// Counter "GB" is a rate: gigabytes (1e9 bytes) read per second.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "storage/aligned_buffer.h"
#include "storage/page_cache.h"
#include "storage/storage.h"

namespace flashslim::storage {
namespace {

constexpr uint64_t kBenchFileBytes = 256ull << 20;

// The benchmark file, written on first use and removed at exit.
class BenchFile {
 public:
  static const std::string& path() {
    static BenchFile file;
    return file.path_;
  }
  ~BenchFile() { std::filesystem::remove(path_); }

 private:
  BenchFile() {
    const char* dir = std::getenv("FLASHSLIM_BENCH_DIR");
    path_ = std::string(dir != nullptr ? dir : "/var/tmp") + "/flashslim_storage_bench_" +
            std::to_string(::getpid()) + ".bin";
    std::vector<uint64_t> block((8u << 20) / sizeof(uint64_t));
    std::ofstream out(path_, std::ios::binary);
    for (uint64_t written = 0; written < kBenchFileBytes; written += 8u << 20) {
      for (size_t i = 0; i < block.size(); ++i)
        block[i] = (written / 8 + i) * 0x9E3779B97F4A7C15ull;
      out.write(reinterpret_cast<const char*>(block.data()), 8u << 20);
    }
  }
  std::string path_;
};

struct Backend {
  StorageKind kind;
  StorageOptions options;
};

// Reads the whole file front to back in `chunk`-byte reads, `depth` in flight.
void read_file_sequentially(const Storage& storage, ReadQueue& queue,
                            std::vector<AlignedBuffer>& buffers, uint64_t chunk) {
  std::vector<unsigned> free_buffers;
  for (unsigned i = 0; i < buffers.size(); ++i) free_buffers.push_back(i);
  uint64_t next_offset = 0;
  while (next_offset < storage.size() || queue.in_flight() > 0) {
    while (next_offset < storage.size() && !free_buffers.empty()) {
      unsigned index = free_buffers.back();
      free_buffers.pop_back();
      uint64_t length =
          std::min(chunk, align_up(storage.size() - next_offset, storage.alignment()));
      queue.submit({next_offset, buffers[index].span().first(length), index});
      next_offset += length;
    }
    ReadCompletion completion = queue.wait_one();
    if (!completion.ok()) throw Error(completion.error);
    free_buffers.push_back(static_cast<unsigned>(completion.tag));
  }
}

// Args: chunk bytes, reads in flight, cold (1: evict the file before each pass).
void BM_SequentialRead(benchmark::State& state, Backend backend) {
  const uint64_t chunk = static_cast<uint64_t>(state.range(0));
  const unsigned depth = static_cast<unsigned>(state.range(1));
  const bool cold = state.range(2) != 0;
  backend.options.pool_threads = depth;  // pool backends get one thread per read in flight
  std::vector<AlignedBuffer> buffers;
  for (unsigned i = 0; i < depth; ++i) buffers.emplace_back(chunk);
  auto storage = open_storage(BenchFile::path(), backend.kind, backend.options);
  auto queue = storage->make_queue(depth);
  for (auto _ : state) {
    if (cold) {
      // Pages mapped by a live mapping survive eviction, so reopen too.
      state.PauseTiming();
      queue.reset();
      storage.reset();
      evict_file_from_page_cache(BenchFile::path());
      storage = open_storage(BenchFile::path(), backend.kind, backend.options);
      queue = storage->make_queue(depth);
      state.ResumeTiming();
    }
    read_file_sequentially(*storage, *queue, buffers, chunk);
  }
  state.counters["GB"] = benchmark::Counter(static_cast<double>(kBenchFileBytes) * 1e-9,
                                            benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(storage->description() + (cold ? ", cold" : ", warm"));
}

// WholeFile reads everything at open, so its cost is the open.
void BM_WholeFileLoad(benchmark::State& state) {
  const bool cold = state.range(0) != 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      evict_file_from_page_cache(BenchFile::path());
      state.ResumeTiming();
    }
    auto storage = open_storage(BenchFile::path(), StorageKind::WholeFile);
    benchmark::DoNotOptimize(storage->map());
  }
  state.counters["GB"] = benchmark::Counter(static_cast<double>(kBenchFileBytes) * 1e-9,
                                            benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(cold ? "cold" : "warm");
}

StorageOptions pool_direct_options() {
  StorageOptions options;
  options.use_io_uring = false;
  return options;
}

void sequential_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"chunk", "qd", "cold"});
  for (int64_t cold : {0, 1}) {
    for (int64_t chunk : {256 << 10, 1 << 20, 4 << 20, 8 << 20}) {
      for (int64_t depth : {1, 4, 16}) b->Args({chunk, depth, cold});
    }
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_SequentialRead, pread, Backend{StorageKind::Pread, {}})
    ->Apply(sequential_args);
BENCHMARK_CAPTURE(BM_SequentialRead, mmap, Backend{StorageKind::Mmap, {}})->Apply(sequential_args);
BENCHMARK_CAPTURE(BM_SequentialRead, uring_direct, Backend{StorageKind::UringDirect, {}})
    ->Apply(sequential_args);
BENCHMARK_CAPTURE(BM_SequentialRead, pool_direct,
                  Backend{StorageKind::UringDirect, pool_direct_options()})
    ->Apply(sequential_args);
BENCHMARK(BM_WholeFileLoad)
    ->ArgName("cold")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flashslim::storage
