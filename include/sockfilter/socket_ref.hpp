// SocketRef: a borrowed socket, from a raw fd or anything with native_handle().
#pragma once

#include <concepts>

namespace sockfilter {

/// Something that exposes its socket fd the way Asio and most socket wrappers do.
template <typename T>
concept HasNativeHandle = requires(const T& socket) {
    { socket.native_handle() } -> std::convertible_to<int>;
};

/// A socket borrowed for one call: sockfilter never closes it or keeps it.
class SocketRef final {
public:
    /// Borrows a raw socket fd.
    // cppcheck-suppress noExplicitConstructor ; implicit by design: attach(fd) and attach(socket) borrow without ceremony
    constexpr SocketRef(int fd) noexcept : fd_(fd) {}  // NOLINT(google-explicit-constructor): by design
    /// Borrows the fd of a socket object (e.g. asio::ip::udp::socket).
    template <HasNativeHandle Socket>
    // cppcheck-suppress noExplicitConstructor ; implicit by design: attach(fd) and attach(socket) borrow without ceremony
    constexpr SocketRef(const Socket& socket) noexcept : fd_(static_cast<int>(socket.native_handle())) {}  // NOLINT(google-explicit-constructor): by design

    /// The borrowed fd.
    [[nodiscard]] constexpr int fd() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace sockfilter
