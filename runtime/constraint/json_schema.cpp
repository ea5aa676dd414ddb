// JsonSchema: a recursive translation of schema nodes to regex text.
#include "constraint/json_schema.h"

#include <cmath>
#include <optional>
#include <set>
#include <vector>

#include "constraint/dfa.h"
#include "constraint/number_range.h"
#include "constraint/regex_parser.h"

namespace sgp::constraint {

namespace {

using Json = nlohmann::ordered_json;

// One JSON string character: unescaped, a short escape, or \u (surrogates excluded, so every
// output parses with strict parsers).
constexpr const char* kJsonChar =
    R"((?:[^"\\\x00-\x1F]|\\["\\/bfnrt]|\\u(?:[0-9A-Ca-cEeFf][0-9A-Fa-f]{3}|[Dd][0-7][0-9A-Fa-f]{2})))";
// Integers keep to 16 digits so every parser reads them exactly as integers.
constexpr const char* kInteger = R"(-?(?:0|[1-9][0-9]{0,15}))";
constexpr const char* kNumber =
    R"(-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,16})?(?:[eE][+-]?[0-9]{1,2})?)";

const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> k = {"title",     "description", "$schema",  "$id",
                                          "$comment",  "default",     "examples", "readOnly",
                                          "writeOnly", "deprecated",  "$defs",    "definitions"};
  return k;
}

const std::set<std::string>& supported_keywords() {
  static const std::set<std::string> k = {"type",
                                          "enum",
                                          "const",
                                          "anyOf",
                                          "oneOf",
                                          "allOf",
                                          "$ref",
                                          "properties",
                                          "required",
                                          "additionalProperties",
                                          "items",
                                          "prefixItems",
                                          "additionalItems",
                                          "minItems",
                                          "maxItems",
                                          "uniqueItems",
                                          "pattern",
                                          "minLength",
                                          "maxLength",
                                          "format",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum"};
  return k;
}

std::string alternation(const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  std::string out = "(?:";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "|" : "") + parts[i];
  return out + ")";
}

bool has_type(const Json& value, const std::string& type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "string") return value.is_string();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    return value.is_number_integer() ||
           (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>());
  }
  return false;
}

// Coarse kinds of JSON value, for proving oneOf branches exclusive.
enum Kind : unsigned {
  kNull = 1,
  kBool = 2,
  kInt = 4,
  kFrac = 8,  // non-integer numbers
  kString = 16,
  kArray = 32,
  kObject = 64,
  kAnyKind = 127
};

unsigned kind_of_value(const Json& v) {
  if (v.is_null()) return kNull;
  if (v.is_boolean()) return kBool;
  if (v.is_string()) return kString;
  if (v.is_array()) return kArray;
  if (v.is_object()) return kObject;
  return has_type(v, "integer") ? kInt : kFrac;
}

unsigned kind_of_type(const std::string& t) {
  if (t == "null") return kNull;
  if (t == "boolean") return kBool;
  if (t == "integer") return kInt;
  if (t == "number") return kInt | kFrac;
  if (t == "string") return kString;
  if (t == "array") return kArray;
  if (t == "object") return kObject;
  return kAnyKind;
}

class SchemaCompiler {
 public:
  SchemaCompiler(const Json& root, const JsonSchemaOptions& options) : root_(root) {
    if (options.whitespace == JsonWhitespace::Flexible) {
      if (options.max_whitespace < 1 || options.max_whitespace > 64) {
        throw SchemaError("", "max_whitespace must be between 1 and 64");
      }
      ws_ = "[ \\n\\t\\r]{0," + std::to_string(options.max_whitespace) + "}";
    }
  }

  // Shared $defs can double the text at every level, so its size is checked as it grows.
  std::string compile(const Json& node, const std::string& path, int depth) {
    std::string out = compile_node(node, path, depth);
    if (out.size() > kMaxRegexBytes) {
      fail(path, "the schema expands to more than " + std::to_string(kMaxRegexBytes >> 20) +
                     " MiB of pattern (references repeated at many levels); simplify it");
    }
    return out;
  }

 private:
  std::string compile_node(const Json& node, const std::string& path, int depth) {
    if (depth > kMaxDepth)
      fail(path, "nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
    if (node.is_boolean()) {
      fail(path, node.get<bool>()
                     ? "'true' allows any JSON value, which cannot be generated; give a type"
                     : "'false' allows no value at all");
    }
    if (!node.is_object()) fail(path, "a schema must be an object");
    for (const auto& [key, value] : node.items()) {
      if (!supported_keywords().count(key) && !annotation_keywords().count(key)) {
        fail(path, "keyword '" + key + "' is not supported");
      }
    }
    for (const char* combinator : {"$ref", "anyOf", "oneOf", "allOf"}) {
      if (!node.contains(combinator)) continue;
      only_beside(node, path, combinator, {});
      if (node.contains("$ref")) return compile_ref(node, path, depth);
      if (node.contains("anyOf")) return compile_list(node["anyOf"], path + "/anyOf", depth);
      if (node.contains("oneOf")) {
        check_exclusive(node["oneOf"], path + "/oneOf");
        return compile_list(node["oneOf"], path + "/oneOf", depth);
      }
      const Json& all = node["allOf"];
      if (!all.is_array() || all.size() != 1)
        fail(path + "/allOf", "only a single-schema allOf is supported");
      return compile(all[0], path + "/allOf/0", depth + 1);
    }
    if (node.contains("const") || node.contains("enum")) return compile_values(node, path);
    if (!node.contains("type")) {
      if (node.contains("properties") || node.contains("required") ||
          node.contains("additionalProperties"))
        return compile_type("object", node, path, depth);
      if (node.contains("items") || node.contains("prefixItems"))
        return compile_type("array", node, path, depth);
      fail(path, "no type: a schema that allows any JSON value cannot be generated");
    }
    std::vector<std::string> parts;
    for (const std::string& t : types(node, path))
      parts.push_back(compile_type(t, node, path, depth));
    return alternation(parts);
  }

  static constexpr int kMaxDepth = 64;
  static constexpr size_t kMaxRegexBytes = size_t{4} << 20;
  // Bound on the oneOf analysis: shared references could make it exponential.
  static constexpr int kMaxAnalysisSteps = 100000;

  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw SchemaError(path, what);
  }

  static std::string literal(const Json& value) { return regex_escape(value.dump()); }

  static std::vector<std::string> types(const Json& node, const std::string& path) {
    const Json& type = node["type"];
    if (type.is_string()) return {type.get<std::string>()};
    if (!type.is_array() || type.empty())
      fail(path + "/type", "must be a string or a non-empty array of strings");
    std::vector<std::string> out;
    for (const Json& t : type) {
      if (!t.is_string()) fail(path + "/type", "must be a string or a non-empty array of strings");
      out.push_back(t.get<std::string>());
    }
    return out;
  }

  // Keywords that would narrow `keyword`'s meaning are refused rather than ignored.
  static void only_beside(const Json& node, const std::string& path, const std::string& keyword,
                          const std::set<std::string>& also) {
    for (const auto& [key, value] : node.items()) {
      if (key == keyword || annotation_keywords().count(key) || also.count(key)) continue;
      if ((keyword == "const" && key == "enum") || (keyword == "enum" && key == "const")) continue;
      fail(path, "keyword '" + key + "' beside '" + keyword + "' is not supported");
    }
  }

  static int count(const Json& node, const char* key, const std::string& path, int fallback) {
    if (!node.contains(key)) return fallback;
    const Json& v = node[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      fail(path + "/" + key, "must be a non-negative integer");
    if (v.get<int64_t>() > kMaxRepeatCount) {
      fail(path + "/" + key,
           "values above " + std::to_string(kMaxRepeatCount) + " are not supported");
    }
    return static_cast<int>(v.get<int64_t>());
  }

  static std::string repeat(const std::string& item, int lo, int hi) {
    std::string out = "(?:";
    out += item;
    out += ")";
    if (hi == kUnbounded && lo == 0) return out + "*";
    out += "{";
    out += std::to_string(lo);
    if (hi == kUnbounded) return out + ",}";
    if (hi != lo) {
      out += ",";
      out += std::to_string(hi);
    }
    return out + "}";
  }

  std::string compile_list(const Json& list, const std::string& path, int depth) {
    if (!list.is_array() || list.empty()) fail(path, "must be a non-empty array of schemas");
    std::vector<std::string> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(compile(list[i], path + "/" + std::to_string(i), depth + 1));
    return alternation(parts);
  }

  // const / enum: the listed values that also have the given type.
  std::string compile_values(const Json& node, const std::string& path) {
    only_beside(node, path, node.contains("const") ? "const" : "enum", {"type"});
    std::vector<Json> values;
    if (node.contains("const")) values.push_back(node["const"]);
    if (node.contains("enum")) {
      const Json& list = node["enum"];
      if (!list.is_array() || list.empty()) fail(path + "/enum", "must be a non-empty array");
      std::vector<Json> listed(list.begin(), list.end());
      if (node.contains("const")) {  // both: the const, if it is listed
        bool listed_const = false;
        for (const Json& v : listed) listed_const = listed_const || v == node["const"];
        if (!listed_const) values.clear();
      } else {
        values = std::move(listed);
      }
    }
    std::vector<std::string> parts;
    std::vector<std::string> allowed =
        node.contains("type") ? types(node, path) : std::vector<std::string>{};
    for (const Json& v : values) {
      bool typed = allowed.empty();
      for (const std::string& t : allowed) {
        if (kind_of_type(t) == kAnyKind) fail(path + "/type", "unknown type '" + t + "'");
        typed = typed || has_type(v, t);
      }
      if (typed) parts.push_back(literal(v));
    }
    if (parts.empty()) fail(path, "no value of const/enum satisfies the rest of the schema");
    return alternation(parts);
  }

  const Json& resolve(const Json& node, const std::string& path) {
    const Json& ref = node["$ref"];
    if (!ref.is_string()) fail(path + "/$ref", "must be a string");
    std::string target = ref.get<std::string>();
    if (target.rfind("#", 0) != 0)
      fail(path + "/$ref", "only local references (#/...) are supported");
    try {
      auto pointer = Json::json_pointer(target.substr(1));
      if (root_.contains(pointer)) return root_.at(pointer);
    } catch (const nlohmann::json::exception&) {
    }
    fail(path + "/$ref", "cannot resolve " + target);
  }

  std::string compile_ref(const Json& node, const std::string& path, int depth) {
    std::string target = node["$ref"].is_string() ? node["$ref"].get<std::string>() : "";
    for (const std::string& active : ref_stack_) {
      if (active == target)
        fail(path + "/$ref", "recursive schemas are not supported (cycle through " + target + ")");
    }
    const Json& resolved = resolve(node, path);
    ref_stack_.push_back(target);
    std::string out = compile(resolved, target.substr(1), depth + 1);
    ref_stack_.pop_back();
    return out;
  }

  // ---- oneOf: generation is the union of the branches, which is only right when no value can
  // satisfy two of them. That is proved from kinds, listed values and required discriminators.

  // A superset of the kinds `node` allows (after $ref and single allOf).
  unsigned kinds(const Json& node, int depth) {
    if (depth > kMaxDepth || !node.is_object() || ++analysis_steps_ > kMaxAnalysisSteps)
      return kAnyKind;
    if (node.contains("$ref")) return kinds(resolve(node, ""), depth + 1);
    if (node.contains("const")) return kind_of_value(node["const"]);
    unsigned out = kAnyKind;
    if (node.contains("enum") && node["enum"].is_array()) {
      out = 0;
      for (const Json& v : node["enum"]) out |= kind_of_value(v);
    }
    for (const char* list : {"anyOf", "oneOf", "allOf"}) {
      if (!node.contains(list) || !node[list].is_array()) continue;
      unsigned u = 0;
      for (const Json& b : node[list]) u |= kinds(b, depth + 1);
      out &= u;
    }
    if (node.contains("type")) {
      unsigned t = 0;
      const Json& type = node["type"];
      if (type.is_string()) t = kind_of_type(type.get<std::string>());
      if (type.is_array())
        for (const Json& x : type) t |= x.is_string() ? kind_of_type(x.get<std::string>()) : 0;
      out &= t;
    } else if (out == kAnyKind && (node.contains("properties") || node.contains("required"))) {
      out = kObject;
    }
    return out;
  }

  // The finite set of values `node` allows, if it lists them.
  const Json* listed_values(const Json& node, Json& scratch) {
    if (!node.is_object()) return nullptr;
    if (node.contains("const")) {
      scratch = Json::array({node["const"]});
      return &scratch;
    }
    if (node.contains("enum") && node["enum"].is_array()) return &node["enum"];
    return nullptr;
  }

  bool disjoint(const Json& a, const Json& b, int depth) {
    if (depth > kMaxDepth || !a.is_object() || !b.is_object() ||
        ++analysis_steps_ > kMaxAnalysisSteps)
      return false;
    if (a.contains("$ref")) return disjoint(resolve(a, ""), b, depth + 1);
    if (b.contains("$ref")) return disjoint(a, resolve(b, ""), depth + 1);
    for (const char* list : {"anyOf", "oneOf"}) {
      if (a.contains(list) && a[list].is_array()) {
        for (const Json& branch : a[list])
          if (!disjoint(branch, b, depth + 1)) return false;
        return true;
      }
      if (b.contains(list) && b[list].is_array()) return disjoint(b, a, depth + 1);
    }
    const unsigned shared = kinds(a, depth) & kinds(b, depth);
    if (shared == 0) return true;
    Json sa, sb;
    const Json* va = listed_values(a, sa);
    const Json* vb = listed_values(b, sb);
    if (va && vb) {
      for (const Json& x : *va)
        for (const Json& y : *vb)
          if (x == y) return false;
      return true;
    }
    // Objects told apart by a property both require with exclusive schemas (a discriminator).
    if (shared == kObject && a.contains("properties") && b.contains("properties") &&
        a.contains("required") && b.contains("required") && a["required"].is_array() &&
        b["required"].is_array()) {
      for (const Json& key : a["required"]) {
        if (!key.is_string()) continue;
        const std::string k = key.get<std::string>();
        bool both = false;
        for (const Json& other : b["required"]) both = both || other == key;
        if (both && a["properties"].contains(k) && b["properties"].contains(k) &&
            disjoint(a["properties"][k], b["properties"][k], depth + 1))
          return true;
      }
    }
    return false;
  }

  void check_exclusive(const Json& list, const std::string& path) {
    if (!list.is_array() || list.empty()) fail(path, "must be a non-empty array of schemas");
    analysis_steps_ = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      for (size_t j = i + 1; j < list.size(); ++j) {
        if (!disjoint(list[i], list[j], 0)) {
          fail(path, "branches " + std::to_string(i) + " and " + std::to_string(j) +
                         " may both match one value; oneOf is supported only when the branches "
                         "differ in type, in const/enum values, or in a required property's "
                         "const/type (use anyOf otherwise)");
        }
      }
    }
  }

  // ---- types

  std::string compile_type(const std::string& type, const Json& node, const std::string& path,
                           int depth) {
    if (type == "string") return compile_string(node, path);
    if (type == "integer" || type == "number") return compile_number(type == "integer", node, path);
    if (type == "boolean") return "(?:true|false)";
    if (type == "null") return "null";
    if (type == "object") return compile_object(node, path, depth);
    if (type == "array") return compile_array(node, path, depth);
    fail(path + "/type", "unknown type '" + type + "'");
  }

  // A numeric bound as an exact value (integers up to 2^63 are exact in a long double).
  static std::optional<long double> bound(const Json& node, const char* key,
                                          const std::string& path) {
    if (!node.contains(key)) return std::nullopt;
    const Json& v = node[key];
    if (v.is_boolean()) {
      fail(path + "/" + key,
           "the boolean form (draft 4) is not supported; give the bound itself as a number");
    }
    if (v.is_number_integer()) return static_cast<long double>(v.get<int64_t>());
    if (v.is_number_unsigned()) return static_cast<long double>(v.get<uint64_t>());
    if (v.is_number_float() && std::isfinite(v.get<double>()))
      return static_cast<long double>(v.get<double>());
    fail(path + "/" + key, "must be a number");
  }

  std::string compile_number(bool integer, const Json& node, const std::string& path) {
    auto minimum = bound(node, "minimum", path), maximum = bound(node, "maximum", path);
    auto ex_min = bound(node, "exclusiveMinimum", path);
    auto ex_max = bound(node, "exclusiveMaximum", path);
    if (!minimum && !maximum && !ex_min && !ex_max) return integer ? kInteger : kNumber;
    const long double cap = static_cast<long double>(kMaxJsonInteger);
    // The tighter of each pair: [lo, hi] with open ends where exclusive wins.
    long double lo = -cap, hi = cap;
    bool lo_open = false, hi_open = false;
    if (minimum && *minimum > lo) lo = *minimum;
    if (ex_min && *ex_min >= lo) lo = *ex_min, lo_open = true;
    if (maximum && *maximum < hi) hi = *maximum;
    if (ex_max && *ex_max <= hi) hi = *ex_max, hi_open = true;
    const std::string bounds_msg = "no " + std::string(integer ? "integer" : "number") +
                                   " of at most 16 digits lies within minimum/maximum";
    if (integer) {
      long double first = lo_open ? std::floor(lo) + 1 : std::ceil(lo);
      long double last = hi_open ? std::ceil(hi) - 1 : std::floor(hi);
      first = std::max(first, -cap);
      last = std::min(last, cap);
      if (first > last) fail(path, bounds_msg);
      return integer_range_regex(static_cast<int64_t>(first), static_cast<int64_t>(last));
    }
    for (long double b : {lo, hi}) {
      if (b != std::floor(b)) {
        fail(path,
             "minimum/maximum on a number must be whole numbers (give type integer, or widen "
             "the bound to a whole number)");
      }
    }
    if (lo < -cap) lo = -cap, lo_open = false;
    if (hi > cap) hi = cap, hi_open = false;
    if (lo > hi) fail(path, bounds_msg);
    std::string out =
        number_range_regex(static_cast<int64_t>(lo), !lo_open, static_cast<int64_t>(hi), !hi_open);
    if (out.empty()) fail(path, bounds_msg);
    return out;
  }

  std::string compile_string(const Json& node, const std::string& path) {
    int min_len = count(node, "minLength", path, 0);
    int max_len = count(node, "maxLength", path, kUnbounded);
    if (max_len != kUnbounded && max_len < min_len) fail(path, "maxLength is below minLength");
    bool has_len = node.contains("minLength") || node.contains("maxLength");
    if (node.contains("format")) {
      if (node.contains("pattern") || has_len)
        fail(path, "format cannot be combined with pattern or lengths");
      if (!node["format"].is_string()) fail(path + "/format", "must be a string");
      std::string out = "\"";
      out += format_regex(node["format"].get<std::string>(), path);
      return out + "\"";
    }
    if (node.contains("pattern")) {
      if (has_len) fail(path, "pattern cannot be combined with minLength/maxLength");
      if (!node["pattern"].is_string()) fail(path + "/pattern", "must be a string");
      return "\"(?:" + string_pattern(node["pattern"].get<std::string>(), path + "/pattern") +
             ")\"";
    }
    std::string out = "\"";
    out += repeat(kJsonChar, min_len, max_len);
    return out + "\"";
  }

  static std::string format_regex(const std::string& format, const std::string& path) {
    // Real calendar dates only: month lengths, and February 29 in leap years (years from 0001).
    const std::string year = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])";
    const std::string leap =
        "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)";
    const std::string date =
        "(?:" + year +
        "-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|"
        "02-(?:0[1-9]|1[0-9]|2[0-8]))|" +
        leap + "-02-29)";
    const std::string time =
        R"((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]))";
    // Dotted quads without leading zeros (strict parsers reject "01").
    const std::string octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    // A conservative address: dot-atoms of letters and digits, a dotted domain.
    const std::string atom = "[a-z0-9]+(?:[._-][a-z0-9]+)*";
    const std::string label = "[a-z0-9]+(?:-[a-z0-9]+)*";
    if (format == "date") return date;
    if (format == "time") return time;
    if (format == "date-time") return date + "T" + time;
    if (format == "uuid") return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    if (format == "ipv4") return octet + "(?:\\." + octet + "){3}";
    if (format == "email") return atom + "@" + label + "(?:\\." + label + ")*\\.[a-z]{2,6}";
    fail(path + "/format",
         "format '" + format + "' is not supported (date, time, date-time, uuid, ipv4, email are)");
  }

  // The pattern's matches go verbatim between the quotes, so they must never need escaping.
  // JSON Schema patterns search anywhere in the string; whole matches are a subset of those.
  static std::string string_pattern(std::string pattern, const std::string& path) {
    Dfa dfa;
    try {
      dfa = Dfa::from_pattern(pattern);
    } catch (const sgp::Error& e) {
      fail(path, e.what());
    }
    if (dfa.empty()) fail(path, "the pattern matches nothing");
    for (int32_t s = 0; s < dfa.n_states(); ++s) {
      for (int b = 0; b < 0x20; ++b)
        if (dfa.next(s, static_cast<uint8_t>(b)) >= 0)
          fail(path, "the pattern can produce control characters, which JSON must escape");
      if (dfa.next(s, '"') >= 0 || dfa.next(s, '\\') >= 0) {
        fail(path, "the pattern can produce '\"' or '\\', which JSON must escape");
      }
    }
    if (!pattern.empty() && pattern[0] == '^') pattern.erase(0, 1);
    size_t slashes = 0;
    while (pattern.size() >= slashes + 2 && pattern[pattern.size() - 2 - slashes] == '\\')
      ++slashes;
    if (!pattern.empty() && pattern.back() == '$' && slashes % 2 == 0) pattern.pop_back();
    return pattern;
  }

  std::string compile_object(const Json& node, const std::string& path, int depth) {
    static const Json kEmpty = Json::object();
    const Json& props = node.contains("properties") ? node["properties"] : kEmpty;
    if (!props.is_object()) fail(path + "/properties", "must be an object");
    std::set<std::string> required;
    if (node.contains("required")) {
      const Json& req = node["required"];
      if (!req.is_array()) fail(path + "/required", "must be an array of property names");
      for (const Json& name : req) {
        if (!name.is_string()) fail(path + "/required", "must be an array of property names");
        if (!props.contains(name.get<std::string>())) {
          fail(path + "/required",
               "required property '" + name.get<std::string>() + "' has no schema in properties");
        }
        required.insert(name.get<std::string>());
      }
    }
    const std::string comma = ws_ + "," + ws_;
    const std::string open = "\\{" + ws_, close = ws_ + "\\}";
    if (node.contains("additionalProperties")) {
      const Json& extra = node["additionalProperties"];
      if (!extra.is_boolean() && !extra.is_object())
        fail(path + "/additionalProperties", "must be a boolean or a schema");
      // A map: any keys, each value of the given schema (only without declared properties, whose
      // keys it could repeat with other values).
      if (extra.is_object() && !extra.empty() && props.empty()) {
        std::string value = compile(extra, path + "/additionalProperties", depth + 1);
        std::string entry =
            "\"" + repeat(kJsonChar, 0, kUnbounded) + "\"" + ws_ + ":" + ws_ + value;
        return open + "(?:" + entry + repeat(comma + entry, 0, kUnbounded) + ")?" + close;
      }
    }
    struct Member {
      std::string text;  // "key":value
      bool required;
    };
    std::vector<Member> members;
    for (const auto& [key, schema] : props.items()) {
      std::string value = compile(schema, path + "/properties/" + key, depth + 1);
      members.push_back({literal(Json(key)) + ws_ + ":" + ws_ + value, required.count(key) > 0});
    }
    // Members 1..k with at least one written, grown left to right so each member's text
    // appears at most twice: written after earlier ones (with a comma), or as the first one
    // (only while every earlier member is optional).
    std::string written;
    bool all_optional_so_far = true;
    for (const Member& m : members) {
      std::string after = m.required ? comma + m.text : "(?:" + comma + m.text + ")?";
      if (written.empty()) {
        written = m.text;
      } else if (all_optional_so_far) {
        written = "(?:" + written + after + "|" + m.text + ")";
      } else {
        written += after;
      }
      all_optional_so_far = all_optional_so_far && !m.required;
    }
    if (all_optional_so_far && !written.empty()) written = "(?:" + written + ")?";
    return open + written + close;
  }

  // Items: a positional prefix (prefixItems, or the older items array), then the rest (items,
  // or the older additionalItems); an array may stop anywhere at or after minItems.
  std::string compile_array(const Json& node, const std::string& path, int depth) {
    int min_items = count(node, "minItems", path, 0);
    int max_items = count(node, "maxItems", path, kUnbounded);
    if (max_items != kUnbounded && max_items < min_items) fail(path, "maxItems is below minItems");
    const Json* prefix = nullptr;
    std::string prefix_path, rest_path;
    const Json* rest = nullptr;
    auto take_rest = [&](const char* key) {
      if (!node.contains(key)) return;
      const Json& r = node[key];
      rest_path = path + "/" + key;
      if (r == Json(false)) return;  // no items beyond the prefix
      if (!r.is_object()) fail(rest_path, "must be a schema or false");
      rest = &r;
    };
    if (node.contains("prefixItems")) {
      if (node.contains("additionalItems"))
        fail(path + "/additionalItems", "with prefixItems, give the rest as items");
      prefix = &node["prefixItems"];
      prefix_path = path + "/prefixItems";
      take_rest("items");
    } else if (node.contains("items") && node["items"].is_array()) {
      prefix = &node["items"];
      prefix_path = path + "/items";
      take_rest("additionalItems");
    } else {
      if (node.contains("additionalItems"))
        fail(path + "/additionalItems", "only applies beside an items array");
      take_rest("items");
    }
    if (prefix && !prefix->is_array()) fail(prefix_path, "must be an array of schemas");
    const int k = prefix ? static_cast<int>(prefix->size()) : 0;
    const bool rest_forbidden = !rest && !rest_path.empty();  // items/additionalItems: false
    int cap = max_items;
    if (!rest) {
      if (min_items > k) {
        fail(path, rest_forbidden ? "minItems is above the number of items allowed"
                                  : "an array with minItems needs an items schema");
      }
      cap = std::min(cap == kUnbounded ? k : cap, k);
    }
    if (node.contains("uniqueItems") && node["uniqueItems"] != Json(false) &&
        (cap == kUnbounded || cap > 1)) {
      fail(path + "/uniqueItems", "uniqueItems is not supported (except with at most one item)");
    }
    const std::string open = "\\[" + ws_, close = ws_ + "\\]", sep = ws_ + "," + ws_;
    if (cap == 0) return open + close;
    // After all k prefix items: the rest, as many as the bounds allow.
    std::string tail;
    if (rest && (cap == kUnbounded || cap > k)) {
      std::string item = compile(*rest, rest_path, depth + 1);
      int more_min = std::max(min_items - k, 0);
      int more_max = cap == kUnbounded ? kUnbounded : cap - k;
      if (k == 0) {
        tail = item + repeat(sep + item, std::max(more_min - 1, 0),
                             more_max == kUnbounded ? kUnbounded : more_max - 1);
        if (more_min == 0) tail = "(?:" + tail + ")?";
      } else {
        tail = repeat(sep + item, more_min, more_max);
      }
    }
    // Prefix items from the last one that may appear back to the first; item i is optional
    // beyond minItems.
    const int last = cap == kUnbounded ? k : std::min(k, cap);
    for (int i = last - 1; i >= 0; --i) {
      std::string item = compile((*prefix)[static_cast<size_t>(i)],
                                 prefix_path + "/" + std::to_string(i), depth + 1);
      std::string seg = (i == 0 ? "" : sep) + item + tail;
      tail = i >= min_items ? "(?:" + seg + ")?" : seg;
    }
    return open + tail + close;
  }

  const Json& root_;
  std::string ws_;
  std::vector<std::string> ref_stack_;
  int analysis_steps_ = 0;
};

std::string describe(const std::string& pointer, const std::string& reason) {
  return "json schema at " + (pointer.empty() ? std::string("/") : pointer) + ": " + reason;
}

}  // namespace

SchemaError::SchemaError(std::string pointer, const std::string& reason)
    : sgp::Error(describe(pointer, reason)), pointer_(std::move(pointer)), reason_(reason) {}

std::string json_schema_to_regex(const nlohmann::ordered_json& schema,
                                 const JsonSchemaOptions& options) {
  SchemaCompiler compiler(schema, options);
  return compiler.compile(schema, "", 0);
}

}  // namespace sgp::constraint
