#include "bench/provenance.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <string_view>

#include "bench/kernel_file.h"

namespace flashslim::bench {
namespace {

// Value of the first "key<tabs>: value" line of /proc/cpuinfo, or "".
std::string cpuinfo_field(std::string_view cpuinfo, std::string_view key) {
  size_t at = 0;
  while (at < cpuinfo.size()) {
    const size_t end = std::min(cpuinfo.find('\n', at), cpuinfo.size());
    const std::string_view line = cpuinfo.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(key)) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name != key) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return "";
}

}  // namespace

std::string iso8601_utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Provenance collect_provenance() {
  Provenance p;
  p.git_commit = FLASHSLIM_GIT_COMMIT;
  p.build_flags = FLASHSLIM_BUILD_FLAGS;
  const std::string cpuinfo = try_read_kernel_file("/proc/cpuinfo").value_or("");
  p.cpu_model = cpuinfo_field(cpuinfo, "model name");
  p.cpu_flags = cpuinfo_field(cpuinfo, "flags");
  if (p.cpu_flags.empty()) p.cpu_flags = cpuinfo_field(cpuinfo, "Features");
  p.online_cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  utsname name{};
  if (::uname(&name) == 0) {
    p.kernel =
        std::string(name.sysname) + " " + name.release + " " + name.version + " " + name.machine;
    p.hostname = name.nodename;
  }
  p.date = iso8601_utc_now();
  return p;
}

nlohmann::json to_json(const Provenance& p) {
  return {{"git_commit", p.git_commit},   {"build_flags", p.build_flags},
          {"cpu_model", p.cpu_model},     {"cpu_flags", p.cpu_flags},
          {"online_cpus", p.online_cpus}, {"kernel", p.kernel},
          {"hostname", p.hostname},       {"date", p.date}};
}

}  // namespace flashslim::bench
