// The verifier-log policy: no log on the fast path; after a failure, reload with a log and keep both.
#include "program_load.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "errno_names.hpp"
#include "text.hpp"

namespace sockfilter::detail {

namespace {

constexpr std::size_t min_log_size = 128;               // below this the kernel refuses the log (before 6.4)
constexpr std::size_t first_log_size = std::size_t{64} * 1024;
constexpr std::size_t max_log_size = std::size_t{1024} * 1024 * 1024;  // under the kernel's UINT_MAX >> 2

// Failures where the verifier may have something to say; others (privileges, memory, fds) it never saw.
bool log_may_explain(int errno_value) noexcept {
    switch (errno_value) {
    case EPERM:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EBADF:
    case EAGAIN:
    case EINTR:
    case ENOSYS: return false;
    default: return true;
    }
}

std::string_view text_of(std::span<const char> log) noexcept { return {log.data(), strnlen(log.data(), log.size())}; }

struct CapturedLog {
    std::string_view text;
    bool truncated = false;
    std::optional<Error> retry_error;  // the retry failed for a reason other than the program itself
};

// One retry into a fixed buffer.
Result<ProgramFd> retry_into(sys::ProgLoadRequest request, std::span<char> buffer, CapturedLog& captured) {
    request.log = buffer;
    auto loaded = sys::prog_load(request);
    if (loaded) return loaded;
    captured.text = text_of(buffer);
    captured.truncated = loaded.error().code().value() == ENOSPC;
    if (!captured.truncated && captured.text.empty()) captured.retry_error = loaded.error();
    return loaded;
}

}  // namespace

Result<ProgramFd> load_with_log_retry(sys::ProgLoadRequest request, const LoadOptions& options) {
    if (!options.log_buffer.empty() && options.log_buffer.size() < min_log_size) {
        return fail(ErrorKind::InvalidArgument, "BPF_PROG_LOAD", 0,
                    concat({"LoadOptions::log_buffer holds ", options.log_buffer.size(),
                            options.log_buffer.size() == 1 ? " byte" : " bytes", "; the kernel needs at least 128 (or pass none and sockfilter allocates one)"}));
    }
    request.log = {};
    request.flags = options.flags;
    auto first = sys::prog_load(request);
    if (first || first.error().code().value() == 0 || !log_may_explain(first.error().code().value())) return first;

    request.log_level = options.log_level;
    CapturedLog captured;
    std::unique_ptr<char[]> owned;  // only when the caller gave no buffer
    Result<ProgramFd> retry = std::unexpected(first.error());
    if (!options.log_buffer.empty()) {
        retry = retry_into(request, options.log_buffer, captured);
    } else {
        for (std::size_t size = first_log_size;;) {
            owned = std::make_unique_for_overwrite<char[]>(size);
            retry = retry_into(request, {owned.get(), size}, captured);
            if (retry || !captured.truncated || size >= max_log_size) break;
            const std::size_t needed = retry.error().sizes_needed().log.value_or(0);
            size = std::min(max_log_size, std::max(size * 2, static_cast<std::size_t>(needed)));
        }
    }
    if (retry) return retry;

    Error error = std::move(first.error());
    error.with_log(captured.text, captured.truncated);
    if (error.code().value() == E2BIG && error.detail().empty()) {
        error.with_detail(concat({"the program has ", request.insns.size(), " instructions"}));
    }
    if (captured.truncated && !retry.error().sizes_needed().log) {
        error.with_detail("the verifier log did not fit and the kernel kept its start, not its end where the error "
                          "is: the rotating log and log_true_size need Linux 6.4; pass a larger log buffer, or none");
    }
    if (!captured.text.empty()) {
        error.with_kind(ErrorKind::VerifierRejected);
    } else if (captured.retry_error && captured.retry_error->code() != error.code()) {
        error.with_detail(concat({"the retry with a verifier log failed too: ", captured.retry_error->message()}));
    }
    return std::unexpected(std::move(error));
}

}  // namespace sockfilter::detail
