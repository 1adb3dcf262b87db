// SIGHUP: re-read the configuration file, apply what can change live, report the rest.
#pragma once

#include <map>
#include <string>

#include "commands.hpp"
#include "config/config.hpp"
#include "pipeline/pipeline.hpp"

namespace sluice {

// Design: control thread only. Holds the configuration as running: the file
// and --set values as read at start, with the live keys as last reloaded.
class config_reloader {
public:
    config_reloader(const run_options& options, settings running)
        : options_(options), running_(std::move(running)) {}

    // Reads the file again with the command line's --set values on top. A
    // bad file is one error line and nothing changes; otherwise routing,
    // commit batching, retry, window length and log level are applied, and
    // every other changed key is named in a warning and keeps its value.
    void reload(pipeline& p);

private:
    const run_options& options_;
    settings running_;
};

// Every setting as "section.key" -> value text, from effective_config()
// (secrets redacted).
std::map<std::string, std::string> flat_settings(const settings& s);

}  // namespace sluice
