// The 64-bit hash of identifiers (event keys, user ids) for the sinks' tables.
#pragma once

#include <cstdint>
#include <string_view>

// Inlined: keys are short, and a call would cost as much as the hash. The
// vector code serves only keys over 240 bytes, and its AVX-512 variant trips
// a false -Wmaybe-uninitialized in g++ 12's intrinsics: scalar is enough.
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

namespace sluice {

// Random for each process, so ids cannot be crafted in advance to collide:
// the tables keep only the hash, and a collision would drop an event as a
// duplicate, undercount distinct users or make a probe chain long. Set
// during static initialisation: a table filled before main() must not use it.
extern const std::uint64_t key_hash_seed;

inline std::uint64_t key_hash(std::string_view text) noexcept {
    return XXH3_64bits_withSeed(text.data(), text.size(), key_hash_seed);
}

}  // namespace sluice
