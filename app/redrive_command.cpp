// sluice redrive: send dead letters back to their source topic.
#include <cstdio>

#include "commands.hpp"
#include "dead_letter/redrive.hpp"

namespace sluice {

int redrive_command(const redrive_options& o) {
    const redrive_result r = redrive(o, stderr);
    std::printf("redrive %s: read %llu, %s %llu, skipped %llu (reason does not match), unreadable %llu%s\n",
                o.topic.c_str(), static_cast<unsigned long long>(r.read), o.dry_run ? "would send" : "sent",
                static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.skipped),
                static_cast<unsigned long long>(r.unreadable), o.dry_run ? " (dry run: nothing sent or committed)" : "");
    return r.failed > 0 ? 1 : 0;
}

}  // namespace sluice
