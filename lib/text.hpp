// Private: building error texts with one out-of-line call per message (small code at each call site).
#pragma once

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sockfilter::detail {

/// One piece of a message: text, or an integer formatted in place.
class Piece {
public:
    // cppcheck-suppress noExplicitConstructor ; implicit on purpose: concat({"text ", number, view}) converts each piece
    Piece(std::string_view text) noexcept : text_(text) {}           // NOLINT(google-explicit-constructor)
    // cppcheck-suppress noExplicitConstructor ; implicit on purpose: concat({"text ", number, view}) converts each piece
    Piece(const char* text) noexcept : text_(text) {}                 // NOLINT(google-explicit-constructor)
    // cppcheck-suppress noExplicitConstructor ; implicit on purpose: concat({"text ", number, view}) converts each piece
    Piece(const std::string& text) noexcept : text_(text) {}          // NOLINT(google-explicit-constructor)
    // cppcheck-suppress noExplicitConstructor ; implicit on purpose: concat({"text ", number, view}) converts each piece
    Piece(std::uint64_t number) noexcept {                             // NOLINT(google-explicit-constructor)
        const auto end = std::to_chars(digits_, digits_ + sizeof digits_, number).ptr;
        text_ = std::string_view(digits_, static_cast<std::size_t>(end - digits_));
    }
    Piece(const Piece&) = delete;
    Piece& operator=(const Piece&) = delete;
    [[nodiscard]] std::string_view text() const noexcept { return text_; }

private:
    std::string_view text_;
    char digits_[20]{};
};

/// The pieces joined into one string.
std::string concat(std::initializer_list<Piece> pieces);

}  // namespace sockfilter::detail
