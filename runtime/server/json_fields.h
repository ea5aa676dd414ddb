// JSON body fields read with type and range checks; a wrong one is a 400 naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sgp::server {

// Ordered: JSON Schema property order decides generation order.
using Json = nlohmann::ordered_json;

// Parses a request body that must be one JSON object (else 400).
Json parse_json_object(std::string_view body);

// Each returns nullopt when the field is absent or null; throws ApiError 400 when it has the
// wrong type or lies outside [lo, hi].
std::optional<bool> get_bool(const Json& obj, const char* key);
std::optional<int64_t> get_int(const Json& obj, const char* key, int64_t lo, int64_t hi);
std::optional<double> get_number(const Json& obj, const char* key, double lo, double hi);
std::optional<std::string> get_string(const Json& obj, const char* key);
// A string or an array of strings (OpenAI's `stop`), at most max_items.
std::optional<std::vector<std::string>> get_string_list(const Json& obj, const char* key,
                                                        size_t max_items);
// Token ids: an array of integers in [0, vocab).
std::optional<std::vector<int32_t>> get_token_ids(const Json& obj, const char* key, int vocab);

}  // namespace sgp::server
