#include "storage/fault_injecting_storage.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "storage/aligned_buffer.h"
#include "storage/posix_file.h"
#include "storage/thread_pool_read_queue.h"

namespace flashslim::storage {
namespace {

uint64_t parse_number(std::string_view text, std::string_view item) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail("fault rule '{}': '{}' is not a number", item, text);
  }
  return value;
}

// "BEGIN-END" into rule.begin / rule.end.
void parse_range(std::string_view text, std::string_view item, FaultRule& rule) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) fail("fault rule '{}': expected BEGIN-END", item);
  rule.begin = parse_number(text.substr(0, dash), item);
  rule.end = parse_number(text.substr(dash + 1), item);
  if (rule.end <= rule.begin) fail("fault rule '{}': empty byte range", item);
}

FaultRule parse_fault_rule(std::string_view item) {
  FaultRule rule;
  std::string_view body = item;
  if (size_t star = body.rfind('*'); star != std::string_view::npos) {
    rule.times = parse_number(body.substr(star + 1), item);
    body = body.substr(0, star);
  }
  size_t at = body.find('@');
  std::string_view head = body.substr(0, at);
  std::string_view range = at == std::string_view::npos ? "" : body.substr(at + 1);
  if (head == "eio" || head == "short") {
    rule.kind = head == "eio" ? FaultKind::Eio : FaultKind::ShortRead;
    parse_range(range, item, rule);
  } else if (head.starts_with("delay=")) {
    rule.kind = FaultKind::Delay;
    rule.delay_us = parse_number(head.substr(6), item);
    if (!range.empty()) parse_range(range, item, rule);
  } else {
    fail("fault rule '{}': expected eio@B-E, short@B-E or delay=US[@B-E]", item);
  }
  return rule;
}

}  // namespace

std::vector<FaultRule> parse_fault_rules(std::string_view spec) {
  std::vector<FaultRule> rules;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    rules.push_back(parse_fault_rule(spec.substr(0, comma)));
    spec = comma == std::string_view::npos ? "" : spec.substr(comma + 1);
  }
  return rules;
}

FaultInjectingStorage::FaultInjectingStorage(std::unique_ptr<Storage> inner,
                                             std::vector<FaultRule> rules, unsigned pool_threads)
    : inner_(std::move(inner)), pool_threads_(pool_threads), rules_(std::move(rules)) {}

FaultInjectingStorage::Decision FaultInjectingStorage::decide(uint64_t offset,
                                                              uint64_t length) const {
  Decision decision;
  std::lock_guard lock(mutex_);
  bool affected = false;
  for (FaultRule& rule : rules_) {
    bool overlaps = offset < rule.end && rule.begin < offset + length;
    if (!overlaps || rule.times == 0) continue;
    if (rule.kind == FaultKind::Delay) {
      decision.delay_us += rule.delay_us;
    } else if (!decision.failure) {
      decision.failure = rule;
    } else {
      continue;  // only the first failing rule applies; later ones keep their uses
    }
    --rule.times;
    affected = true;
  }
  if (affected) ++faults_injected_;
  return decision;
}

void FaultInjectingStorage::read(uint64_t offset, std::span<uint8_t> dst) const {
  check_request(offset, dst.size(), dst.data());
  timed_read(dst.size(), [&] {
    Decision decision = decide(offset, dst.size());
    if (decision.delay_us > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(decision.delay_us));
    }
    if (decision.failure) inject(*decision.failure, offset, dst);
    inner_->read(offset, dst);
  });
}

void FaultInjectingStorage::inject(const FaultRule& rule, uint64_t offset,
                                   std::span<uint8_t> dst) const {
  if (rule.kind == FaultKind::Eio) {
    throw ReadError(read_error_message(path(), offset, dst.size(),
                                       std::string(std::strerror(EIO)) + " (injected)"),
                    EIO);
  }
  // Short read: deliver what lies before rule.begin (kept aligned), then stop.
  uint64_t prefix = rule.begin > offset ? align_down(rule.begin - offset, alignment()) : 0;
  if (prefix > 0) inner_->read(offset, dst.first(prefix));
  throw ReadError(read_error_message(path(), offset, dst.size(),
                                     short_read_cause(prefix, dst.size()) + " (injected)"),
                  ENODATA);
}

std::unique_ptr<ReadQueue> FaultInjectingStorage::make_queue(unsigned depth) const {
  return std::make_unique<ThreadPoolReadQueue>(*this, pool_threads_, depth);
}

std::string FaultInjectingStorage::description() const {
  return inner_->description() + " with injected faults";
}

uint64_t FaultInjectingStorage::faults_injected() const {
  std::lock_guard lock(mutex_);
  return faults_injected_;
}

}  // namespace flashslim::storage
