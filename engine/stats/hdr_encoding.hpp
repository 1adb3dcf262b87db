// A histogram snapshot in HdrHistogram's V2 compressed encoding, base64 (the interval log's form).
#pragma once

#include <string>

#include "stats/histogram.hpp"

namespace sluice {

// sluice's histogram has HdrHistogram's geometry for lowest discernible
// value 1 and 3 significant digits (2048 sub-buckets, the same counts
// index), so its counts are written as they are: header, then the counts
// as ZigZag LEB128 with runs of zeros as negative lengths, deflated (zlib),
// behind the compressed cookie, then base64. Throws std::runtime_error if
// zlib fails.
std::string hdr_compressed_base64(const histogram::snapshot_t& s);

}  // namespace sluice
