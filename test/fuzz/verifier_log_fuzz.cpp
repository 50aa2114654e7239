// libFuzzer target: an Error carrying an arbitrary verifier log and detail (any bytes: not UTF-8, NULs
// or none, no trailing newline), as BPF_PROG_LOAD attaches it, and Error::message() on it, for every
// operation and errno the hints know. The message is printable ASCII with newlines and tabs, keeps the
// operation's name first, and shows at most the last 12 lines of the log.
#include <array>
#include <cerrno>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "sockfilter/error.hpp"

using namespace sockfilter;
using sockfilter_fuzz::check;

namespace {

constexpr std::array operations{"BPF_PROG_LOAD", "BPF_OBJ_PIN", "BPF_OBJ_GET", "SO_ATTACH_BPF", "BPF_MAP_CREATE",
                                "BPF_PROG_TEST_RUN", "BPF_MAP_UPDATE_ELEM", "BPF_MAP_FREEZE", "ELF object", ""};
constexpr std::array errnos{0, EPERM, EACCES, EINVAL, ENOSPC, E2BIG, EAGAIN, ENOSYS, 524, 4095, -1};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const char* operation = operations[data[0] % operations.size()];
    const int errno_value = errnos[data[1] % errnos.size()];
    const bool truncated = (data[2] & 1) != 0;
    const bool with_detail = (data[2] & 2) != 0;
    std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
    std::string_view detail;
    if (with_detail) {  // the detail is the text up to the first 0xff byte, the log what follows it
        const auto split = rest.find('\xff');
        detail = rest.substr(0, split);
        rest = split == std::string_view::npos ? std::string_view{} : rest.substr(split + 1);
    }

    Error error(ErrorKind::VerifierRejected, operation, errno_value, std::string(detail));
    error.with_log(rest, truncated);
    check(error.verifier_log() == rest, "the log is kept byte for byte");
    const std::string message = error.message();
    check(message.starts_with(operation), "the message starts with the operation");
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        check((byte >= 0x20 && byte < 0x7f) || c == '\n' || c == '\t', "the message is printable ASCII");
    }
    // What the message must end with, worked out independently: the heading, then the log without its
    // trailing newlines and NULs, cut to its last 12 lines, each unprintable byte shown as '?'.
    if (!rest.empty()) {
        std::string_view log = rest;
        while (!log.empty() && (log.back() == '\n' || log.back() == '\0')) log.remove_suffix(1);
        std::size_t start = log.size();
        for (std::size_t lines = 0; start > 0 && lines < 12; --start) {
            if (log[start - 1] == '\n' && ++lines == 12) break;
        }
        std::string expected = truncated ? "\nVerifier log (truncated; last lines):\n" : "\nVerifier log (last lines):\n";
        for (const char c : log.substr(start)) {
            const auto byte = static_cast<unsigned char>(c);
            expected.push_back((byte >= 0x20 && byte < 0x7f) || c == '\n' || c == '\t' ? c : '?');
        }
        check(message.ends_with(expected), "the message ends with the log's last 12 lines");
    } else {
        check(message.find("\nVerifier log") == std::string::npos || !detail.empty(), "no log heading without a log");
    }
    return 0;
}
