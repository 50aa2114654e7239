// Joining message pieces.
#include "text.hpp"

namespace sockfilter::detail {

std::string concat(std::initializer_list<Piece> pieces) {
    std::size_t size = 0;
    for (const Piece& piece : pieces) size += piece.text().size();
    std::string out;
    out.reserve(size);
    for (const Piece& piece : pieces) out += piece.text();
    return out;
}

}  // namespace sockfilter::detail
