// Typed JSON field access for request bodies.
#include "server/json_fields.h"

#include <cmath>

#include "server/api_error.h"

namespace sgp::server {

namespace {

const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Json parse_json_object(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return j;
}

std::optional<bool> get_bool(const Json& obj, const char* key) {
  const Json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw bad_param(key, std::string("'") + key + "' must be a boolean");
  return v->get<bool>();
}

std::optional<int64_t> get_int(const Json& obj, const char* key, int64_t lo, int64_t hi) {
  const Json* v = field(obj, key);
  if (!v) return std::nullopt;
  int64_t x = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      throw bad_param(key, std::string("'") + key + "' is out of range");
    x = v->get<int64_t>();
  } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e15) {
    x = static_cast<int64_t>(v->get<double>());
  } else {
    throw bad_param(key, std::string("'") + key + "' must be an integer");
  }
  if (x < lo || x > hi)
    throw bad_param(key, std::string("'") + key + "' must be between " + std::to_string(lo) +
                             " and " + std::to_string(hi) + ", got " + std::to_string(x));
  return x;
}

std::optional<double> get_number(const Json& obj, const char* key, double lo, double hi) {
  const Json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw bad_param(key, std::string("'") + key + "' must be a number");
  double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    throw bad_param(key, std::string("'") + key + "' must be between " + Json(lo).dump() + " and " +
                             Json(hi).dump());
  return x;
}

std::optional<std::string> get_string(const Json& obj, const char* key) {
  const Json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw bad_param(key, std::string("'") + key + "' must be a string");
  return v->get<std::string>();
}

std::optional<std::vector<std::string>> get_string_list(const Json& obj, const char* key,
                                                        size_t max_items) {
  const Json* v = field(obj, key);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > max_items)
      throw bad_param(key, std::string("'") + key + "' has more than " + std::to_string(max_items) +
                               " entries");
    for (const Json& s : *v) {
      if (!s.is_string())
        throw bad_param(key, std::string("'") + key + "' must be a string or a list of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad_param(key, std::string("'") + key + "' must be a string or a list of strings");
  }
  for (const std::string& s : out)
    if (s.empty()) throw bad_param(key, std::string("'") + key + "' holds an empty string");
  return out;
}

std::optional<std::vector<int32_t>> get_token_ids(const Json& obj, const char* key, int vocab) {
  const Json* v = field(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_array())
    throw bad_param(key, std::string("'") + key + "' must be a list of token ids");
  std::vector<int32_t> out;
  out.reserve(v->size());
  for (const Json& t : *v) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= vocab)
      throw bad_param(key, std::string("'") + key + "' holds a token id outside [0, " +
                               std::to_string(vocab) + ")");
    out.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return out;
}

}  // namespace sgp::server
