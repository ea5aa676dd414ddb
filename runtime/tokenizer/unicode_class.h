// Unicode character classes the pre-tokenizer patterns use: \p{L}, \p{N}, \s, and the rest.
#pragma once

#include <cstdint>

namespace sgp::model {

enum class CharClass : uint8_t { Other, Letter, Number, Space };

CharClass char_class(uint32_t cp);

}  // namespace sgp::model
