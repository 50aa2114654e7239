// Error: construction, kinds derived from errno, and the builders the library uses.
#include "sockfilter/error.hpp"

#include <cerrno>
#include <utility>

#include "errno_names.hpp"

namespace sockfilter {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::NotLoaded: return "NotLoaded";
    case ErrorKind::AlreadyLoaded: return "AlreadyLoaded";
    case ErrorKind::UnexpectedProgramType: return "UnexpectedProgramType";
    case ErrorKind::UnexpectedMapType: return "UnexpectedMapType";
    case ErrorKind::InvalidArgument: return "InvalidArgument";
    case ErrorKind::VerifierRejected: return "VerifierRejected";
    case ErrorKind::PermissionDenied: return "PermissionDenied";
    case ErrorKind::NotFound: return "NotFound";
    case ErrorKind::AlreadyExists: return "AlreadyExists";
    case ErrorKind::NoSpace: return "NoSpace";
    case ErrorKind::TooBig: return "TooBig";
    case ErrorKind::NotSupported: return "NotSupported";
    case ErrorKind::SyscallFailed: return "SyscallFailed";
    }
    return "Unknown";
}

namespace {

ErrorKind kind_of_errno(int errno_value) noexcept {
    switch (errno_value) {
    case EPERM:
    case EACCES: return ErrorKind::PermissionDenied;
    case ENOENT: return ErrorKind::NotFound;
    case EEXIST: return ErrorKind::AlreadyExists;
    case EINVAL:
    case ENAMETOOLONG: return ErrorKind::InvalidArgument;
    case ENOSPC: return ErrorKind::NoSpace;
    case E2BIG: return ErrorKind::TooBig;
    case EOPNOTSUPP:
    case ENOSYS:
    case detail::kernel_enotsupp: return ErrorKind::NotSupported;
    default: return ErrorKind::SyscallFailed;
    }
}

}  // namespace

Error::Error(ErrorKind kind, const char* operation, int errno_value, std::string detail)
    : kind_(kind), operation_(operation != nullptr ? operation : "?"), errno_(errno_value), detail_(std::move(detail)) {}

Error Error::from_errno(const char* operation, int errno_value, std::string detail) {
    return {kind_of_errno(errno_value), operation, errno_value, std::move(detail)};
}

std::error_code Error::code() const noexcept { return {errno_, std::generic_category()}; }

Error& Error::with_detail(std::string detail) {
    detail_ = std::move(detail);
    return *this;
}

Error& Error::with_log(std::string_view log, bool truncated) {
    log_.assign(log);
    log_truncated_ = truncated;
    return *this;
}

Error& Error::with_sizes(SizesNeeded sizes) noexcept {
    sizes_ = sizes;
    return *this;
}

Error& Error::with_kind(ErrorKind kind) noexcept {
    kind_ = kind;
    return *this;
}

}  // namespace sockfilter
