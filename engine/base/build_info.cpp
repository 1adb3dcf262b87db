// Version and build facts, from meson (build_version.hpp) and the libraries themselves.
#include "base/build_info.hpp"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include "build_version.hpp"

namespace sluice {

namespace {

// The instruction-set extensions this translation unit (and the whole build:
// one -march for all) was compiled to use.
std::string compiled_cpu_features() {
    std::string f;
    auto add = [&](const char* name) { f += (f.empty() ? "" : " ") + std::string(name); };
#ifdef __SSE4_2__
    add("sse4.2");
#endif
#ifdef __POPCNT__
    add("popcnt");
#endif
#ifdef __AVX__
    add("avx");
#endif
#ifdef __AVX2__
    add("avx2");
#endif
#ifdef __BMI2__
    add("bmi2");
#endif
#ifdef __PCLMUL__
    add("pclmul");
#endif
#ifdef __AVX512F__
    add("avx512f");
#endif
#ifdef __AVX512BW__
    add("avx512bw");
#endif
#ifdef __ARM_NEON
    add("neon");
#endif
    return f.empty() ? "baseline" : f;
}

}  // namespace

const build_info& build_info::get() {
    static const build_info b = [] {
        build_info i;
        i.version = SLUICE_VERSION;
        i.revision = SLUICE_REVISION;
        i.librdkafka = rd_kafka_version_str();
        i.simdjson = SLUICE_SIMDJSON_VERSION;
        i.simdjson_kernel = simdjson::get_active_implementation()->name();
        i.liburing = SLUICE_LIBURING_VERSION;
        i.cpu_features = compiled_cpu_features() + " (-march=" SLUICE_CPU_ARCH ")";
        return i;
    }();
    return b;
}

std::string build_info::text() const {
    return "sluice " + version + " (git " + revision + ")\n" + "librdkafka " + librdkafka + "\n" + "simdjson " +
           simdjson + " (kernel " + simdjson_kernel + ")\n" + "liburing " + liburing + "\n" + "cpu features " +
           cpu_features + "\n";
}

}  // namespace sluice
