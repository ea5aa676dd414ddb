// The GPT-2 byte ↔ code point mapping that byte-level BPE vocabularies are written in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sgp::model {

uint32_t byte_to_code_point(uint8_t b);
// The byte a code point stands for, or -1 if it is not one of the 256 mapped code points.
int code_point_to_byte(uint32_t cp);
// Vocabulary text → raw bytes. Characters outside the mapping are kept as their UTF-8 bytes.
std::string unmap_byte_level(std::string_view text);
// Raw bytes → vocabulary text.
std::string map_byte_level(std::string_view bytes);

}  // namespace sgp::model
