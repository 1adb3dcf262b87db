// The effective configuration as TOML, with secrets redacted (`sluice check`, the reload report).
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace sluice {

// librdkafka properties whose values are secrets (passwords, private keys,
// SASL JAAS and OAuth client secrets).
bool is_secret_property(std::string_view name);
// What a secret value is printed as.
inline constexpr std::string_view redacted = "(redacted)";

// Every setting, defaults included, as TOML that load_settings() reads back
// to the same settings (except that secret values read "(redacted)").
std::string effective_config(const settings& s);

}  // namespace sluice
