// The per-process seed of key_hash.
#include "base/key_hash.hpp"

#include <random>

namespace sluice {

const std::uint64_t key_hash_seed = [] {
    std::random_device entropy;  // getrandom(2)
    return std::uint64_t(entropy()) << 32 | entropy();
}();

}  // namespace sluice
