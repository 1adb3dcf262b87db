// HdrHistogram V2 encoding: header, ZigZag LEB128 counts, zlib, base64.
#include "stats/hdr_encoding.hpp"

#include <zlib.h>

#include <bit>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace sluice {

namespace {

constexpr std::uint32_t v2_cookie = 0x1c849303u | 0x10u;             // word size byte 0x10: run-length zeros
constexpr std::uint32_t v2_compressed_cookie = 0x1c849304u | 0x10u;

void put32(std::vector<unsigned char>& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}
void put64(std::vector<unsigned char>& b, std::uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}
void put_zigzag(std::vector<unsigned char>& b, std::int64_t v) {
    std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    // HdrHistogram's ZigZag LEB128 takes at most 9 bytes: the ninth holds 8 bits.
    for (int i = 0; i < 8; ++i) {
        if (z < 0x80) {
            b.push_back(static_cast<unsigned char>(z));
            return;
        }
        b.push_back(static_cast<unsigned char>((z & 0x7f) | 0x80));
        z >>= 7;
    }
    b.push_back(static_cast<unsigned char>(z));
}

std::string base64(const std::vector<unsigned char>& in) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const std::uint32_t n = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        out += table[n >> 18];
        out += table[(n >> 12) & 63];
        out += table[(n >> 6) & 63];
        out += table[n & 63];
    }
    if (i < in.size()) {
        const std::uint32_t n = (in[i] << 16) | (i + 1 < in.size() ? in[i + 1] << 8 : 0);
        out += table[n >> 18];
        out += table[(n >> 12) & 63];
        out += i + 1 < in.size() ? table[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

}  // namespace

std::string hdr_compressed_base64(const histogram::snapshot_t& s) {
    std::vector<unsigned char> raw;
    raw.reserve(4096);
    put32(raw, v2_cookie);
    put32(raw, 0);  // payload length, filled in below
    put32(raw, 0);  // normalizing index offset
    put32(raw, 3);  // significant value digits
    put64(raw, 1);  // lowest discernible value
    put64(raw, histogram::highest_trackable);
    put64(raw, std::bit_cast<std::uint64_t>(1.0));  // integer to double value conversion ratio
    const std::size_t payload_start = raw.size();
    std::size_t limit = s.counts.size();
    while (limit > 0 && s.counts[limit - 1] == 0) --limit;
    for (std::size_t i = 0; i < limit;) {
        const std::uint64_t c = s.counts[i++];
        if (c == 0) {
            std::int64_t zeros = 1;
            while (i < limit && s.counts[i] == 0) ++zeros, ++i;
            put_zigzag(raw, zeros > 1 ? -zeros : 0);
        } else {
            put_zigzag(raw, static_cast<std::int64_t>(c));
        }
    }
    const auto payload = static_cast<std::uint32_t>(raw.size() - payload_start);
    for (int k = 0; k < 4; ++k) raw[4 + k] = static_cast<unsigned char>(payload >> (24 - 8 * k));

    uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
    std::vector<unsigned char> out(8 + packed_size);
    if (compress2(out.data() + 8, &packed_size, raw.data(), static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
        throw std::runtime_error("zlib: cannot compress a histogram");
    out.resize(8 + packed_size);
    for (int k = 0; k < 4; ++k) out[k] = static_cast<unsigned char>(v2_compressed_cookie >> (24 - 8 * k));
    for (int k = 0; k < 4; ++k) out[4 + k] = static_cast<unsigned char>(packed_size >> (24 - 8 * k));
    return base64(out);
}

}  // namespace sluice
