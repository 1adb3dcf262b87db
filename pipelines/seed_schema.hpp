// The seed systems' event schema: their type names and the decoder hook for both envelope styles.
#pragma once

namespace sluice {

class event_schema;

// The one instance (immutable, shared by every decoder): decodes into
// seed_fields (seed_fields.hpp).
const event_schema& seed_schema() noexcept;

}  // namespace sluice
