// The usual process_* metrics (as Prometheus client libraries export them) and sluice_build_info.
#pragma once

#include <string>

namespace sluice {

// Appends process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds (from /proc/self) and sluice_build_info.
void append_process_metrics(std::string& out);

}  // namespace sluice
