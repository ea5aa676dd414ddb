// SchemaValidator: recursive checks per keyword; regexes go through RE2.
#include "schema_validator.h"

#include <re2/re2.h>

#include <cmath>

namespace sgp::constraint::testing {

namespace {

using Json = nlohmann::json;

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool has_type(const Json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_number_integer() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  }
  return false;
}

bool search(const std::string& pattern, const std::string& text) {
  RE2 re(pattern);
  return re.ok() && RE2::PartialMatch(text, re);
}

const char* format_pattern(const std::string& format) {
  if (format == "date") return R"(^\d{4}-\d\d-\d\d$)";
  if (format == "time") return R"(^\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$)";
  if (format == "date-time") return R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$)";
  if (format == "uuid") return R"(^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$)";
  if (format == "ipv4")
    return R"(^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$)";
  if (format == "email") return R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)";
  return nullptr;
}

}  // namespace

std::optional<std::string> validate(const Json& value, const Json& schema, const Json& root) {
  if (schema.contains("$ref")) {
    std::string ref = schema["$ref"].get<std::string>();
    return validate(value, root.at(Json::json_pointer(ref.substr(1))), root);
  }
  if (schema.contains("const") && value != schema["const"]) return "not the const value";
  if (schema.contains("enum")) {
    bool found = false;
    for (const Json& e : schema["enum"]) found = found || e == value;
    if (!found) return "not one of the enum values";
  }
  if (schema.contains("anyOf")) {
    bool any = false;
    for (const Json& sub : schema["anyOf"]) any = any || !validate(value, sub, root);
    if (!any) return "matches no anyOf branch";
  }
  if (schema.contains("oneOf")) {
    int matching = 0;
    for (const Json& sub : schema["oneOf"]) matching += !validate(value, sub, root);
    if (matching != 1) return "matches " + std::to_string(matching) + " oneOf branches";
  }
  if (schema.contains("allOf")) {
    for (const Json& sub : schema["allOf"])
      if (auto e = validate(value, sub, root)) return "allOf: " + *e;
  }
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    bool ok = false;
    if (t.is_string()) {
      ok = has_type(value, t.get<std::string>());
    } else {
      for (const Json& x : t) ok = ok || has_type(value, x.get<std::string>());
    }
    if (!ok) return "wrong type: " + value.dump();
  }
  if (value.is_number()) {
    const double x = value.get<double>();
    if (schema.contains("minimum") && x < schema["minimum"].get<double>()) return "below minimum";
    if (schema.contains("maximum") && x > schema["maximum"].get<double>()) return "above maximum";
    if (schema.contains("exclusiveMinimum") && x <= schema["exclusiveMinimum"].get<double>())
      return "not above exclusiveMinimum";
    if (schema.contains("exclusiveMaximum") && x >= schema["exclusiveMaximum"].get<double>())
      return "not below exclusiveMaximum";
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    size_t n = code_points(s);
    if (schema.contains("minLength") && n < schema["minLength"].get<size_t>())
      return "shorter than minLength";
    if (schema.contains("maxLength") && n > schema["maxLength"].get<size_t>())
      return "longer than maxLength";
    if (schema.contains("pattern") && !search(schema["pattern"].get<std::string>(), s))
      return "pattern mismatch: " + s;
    if (schema.contains("format")) {
      const char* p = format_pattern(schema["format"].get<std::string>());
      if (!p || !search(p, s)) return "format mismatch: " + s;
    }
  }
  if (value.is_object()) {
    if (schema.contains("required")) {
      for (const Json& k : schema["required"])
        if (!value.contains(k.get<std::string>()))
          return "missing required " + k.get<std::string>();
    }
    for (const auto& [k, v] : value.items()) {
      if (schema.contains("properties") && schema["properties"].contains(k)) {
        if (auto e = validate(v, schema["properties"][k], root)) return k + ": " + *e;
      } else if (schema.contains("additionalProperties")) {
        const Json& extra = schema["additionalProperties"];
        if (extra == false) return "unexpected property " + k;
        if (extra.is_object())
          if (auto e = validate(v, extra, root)) return k + " (additional): " + *e;
      }
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>())
      return "too few items";
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>())
      return "too many items";
    // Positional schemas (prefixItems, or an items array), then one schema for the rest.
    const Json* prefix = nullptr;
    const Json* rest = nullptr;
    if (schema.contains("prefixItems")) {
      prefix = &schema["prefixItems"];
      if (schema.contains("items")) rest = &schema["items"];
    } else if (schema.contains("items") && schema["items"].is_array()) {
      prefix = &schema["items"];
      if (schema.contains("additionalItems")) rest = &schema["additionalItems"];
    } else if (schema.contains("items")) {
      rest = &schema["items"];
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const Json* sub = prefix && i < prefix->size() ? &(*prefix)[i] : rest;
      if (!sub) continue;
      if (*sub == false) return "item " + std::to_string(i) + " not allowed";
      if (auto e = validate(value[i], *sub, root)) return "[" + std::to_string(i) + "]: " + *e;
    }
  }
  return std::nullopt;
}

}  // namespace sgp::constraint::testing
