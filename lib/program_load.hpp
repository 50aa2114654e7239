// Private: the verifier-log policy around sys::prog_load.
#pragma once

#include "sockfilter/load_options.hpp"
#include "sockfilter/sys.hpp"

namespace sockfilter::detail {

/// Loads without a log; if that fails, loads again with a log (the caller's buffer, or an allocated one
/// that grows on ENOSPC), and returns the first error with the log, kind VerifierRejected when the log
/// explains it. A load that succeeds on the retry is returned as success.
Result<ProgramFd> load_with_log_retry(sys::ProgLoadRequest request, const LoadOptions& options);

}  // namespace sockfilter::detail
