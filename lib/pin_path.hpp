// Private: pinning an object and removing only the pin this object made (shared by programs and maps).
#pragma once

#include <string>
#include <string_view>

#include "sockfilter/error.hpp"

namespace sockfilter::detail {

/// BPF_OBJ_PIN of `fd` at `path`; records the path in `recorded` only once the pin exists. Refuses
/// (AlreadyExists) when `recorded` already holds a pin. `what` names the object in messages ("program").
Result<void> pin_recorded(int fd, std::string_view path, std::string& recorded, const char* what);

/// Unlinks the pin recorded in `recorded` and clears it (a pin already gone counts as removed).
/// Errors: NotFound when nothing is recorded; the unlink errno otherwise (the record is kept).
Result<void> unpin_recorded(std::string& recorded, const char* what);

}  // namespace sockfilter::detail
