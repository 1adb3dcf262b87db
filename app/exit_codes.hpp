// The process exit codes, one table for every subcommand (README.md, The binary).
#pragma once

namespace sluice::exit_code {

inline constexpr int done = 0;
inline constexpr int failure = 1;        // runtime failure
inline constexpr int usage = 64;         // bad command line (EX_USAGE)
inline constexpr int not_committed = 75; // final commit not confirmed: events remain exposed to replay (EX_TEMPFAIL)
inline constexpr int config = 78;        // bad configuration (EX_CONFIG)

}  // namespace sluice::exit_code
