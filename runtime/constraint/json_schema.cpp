// JsonSchema: a recursive translation of schema nodes to regex text.
#include "constraint/json_schema.h"

#include <set>
#include <vector>

#include "constraint/dfa.h"
#include "constraint/regex_parser.h"
#include "sgp/error.h"

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
  static const std::set<std::string> k = {"title",
                                          "description",
                                          "$schema",
                                          "$id",
                                          "$comment",
                                          "default",
                                          "examples",
                                          "readOnly",
                                          "writeOnly",
                                          "deprecated",
                                          "$defs",
                                          "definitions",
                                          "additionalProperties"};
  return k;
}

const std::set<std::string>& supported_keywords() {
  static const std::set<std::string> k = {"type",      "enum",      "const",      "anyOf",
                                          "allOf",     "$ref",      "properties", "required",
                                          "items",     "minItems",  "maxItems",   "pattern",
                                          "minLength", "maxLength", "format",     "uniqueItems"};
  return k;
}

std::string alternation(const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  std::string out = "(?:";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "|" : "") + parts[i];
  return out + ")";
}

class SchemaCompiler {
 public:
  SchemaCompiler(const Json& root, const JsonSchemaOptions& options) : root_(root) {
    if (options.whitespace == JsonWhitespace::Flexible) {
      if (options.max_whitespace < 1 || options.max_whitespace > 64) {
        throw sgp::Error("json schema: max_whitespace must be between 1 and 64");
      }
      ws_ = "[ \\n\\t\\r]{0," + std::to_string(options.max_whitespace) + "}";
    }
  }

  std::string compile(const Json& node, const std::string& path, int depth) {
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
    if (node.contains("$ref")) return compile_ref(node, path, depth);
    if (node.contains("const")) return literal(node["const"]);
    if (node.contains("enum")) {
      const Json& values = node["enum"];
      if (!values.is_array() || values.empty()) fail(path + "/enum", "must be a non-empty array");
      std::vector<std::string> parts;
      for (const Json& v : values) parts.push_back(literal(v));
      return alternation(parts);
    }
    if (node.contains("anyOf")) return compile_list(node["anyOf"], path + "/anyOf", depth);
    if (node.contains("allOf")) {
      const Json& all = node["allOf"];
      if (!all.is_array() || all.size() != 1)
        fail(path + "/allOf", "only a single-schema allOf is supported");
      return compile(all[0], path + "/allOf/0", depth + 1);
    }
    if (!node.contains("type")) {
      if (node.contains("properties") || node.contains("required"))
        return compile_type("object", node, path, depth);
      if (node.contains("items")) return compile_type("array", node, path, depth);
      fail(path, "no type: a schema that allows any JSON value cannot be generated");
    }
    const Json& type = node["type"];
    if (type.is_string()) return compile_type(type.get<std::string>(), node, path, depth);
    if (!type.is_array() || type.empty())
      fail(path + "/type", "must be a string or a non-empty array of strings");
    std::vector<std::string> parts;
    for (const Json& t : type) {
      if (!t.is_string()) fail(path + "/type", "must be a string or a non-empty array of strings");
      parts.push_back(compile_type(t.get<std::string>(), node, path, depth));
    }
    return alternation(parts);
  }

 private:
  static constexpr int kMaxDepth = 64;

  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw sgp::Error("json schema at " + (path.empty() ? std::string("/") : path) + ": " + what);
  }

  static std::string literal(const Json& value) { return regex_escape(value.dump()); }

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

  std::string compile_ref(const Json& node, const std::string& path, int depth) {
    const Json& ref = node["$ref"];
    if (!ref.is_string()) fail(path + "/$ref", "must be a string");
    std::string target = ref.get<std::string>();
    if (target.rfind("#", 0) != 0)
      fail(path + "/$ref", "only local references (#/...) are supported");
    for (const std::string& active : ref_stack_) {
      if (active == target)
        fail(path + "/$ref", "recursive schemas are not supported (cycle through " + target + ")");
    }
    const Json* resolved = nullptr;
    try {
      auto pointer = Json::json_pointer(target.substr(1));
      if (root_.contains(pointer)) resolved = &root_.at(pointer);
    } catch (const nlohmann::json::exception&) {
    }
    if (!resolved) fail(path + "/$ref", "cannot resolve " + target);
    ref_stack_.push_back(target);
    std::string out = compile(*resolved, target.substr(1), depth + 1);
    ref_stack_.pop_back();
    return out;
  }

  std::string compile_type(const std::string& type, const Json& node, const std::string& path,
                           int depth) {
    if (type == "string") return compile_string(node, path);
    if (type == "integer") return kInteger;
    if (type == "number") return kNumber;
    if (type == "boolean") return "(?:true|false)";
    if (type == "null") return "null";
    if (type == "object") return compile_object(node, path, depth);
    if (type == "array") return compile_array(node, path, depth);
    fail(path + "/type", "unknown type '" + type + "'");
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
    if (format == "date") return date;
    if (format == "time") return time;
    if (format == "date-time") return date + "T" + time;
    if (format == "uuid") return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    fail(path + "/format",
         "format '" + format + "' is not supported (date, time, date-time, uuid are)");
  }

  // The pattern's matches go verbatim between the quotes, so they must never need escaping.
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
    const std::string comma = ws_ + "," + ws_;
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
    std::string out = "\\{" + ws_;
    out += written;
    return out + ws_ + "\\}";
  }

  std::string compile_array(const Json& node, const std::string& path, int depth) {
    int min_items = count(node, "minItems", path, 0);
    int max_items = count(node, "maxItems", path, kUnbounded);
    if (max_items != kUnbounded && max_items < min_items) fail(path, "maxItems is below minItems");
    if (node.contains("uniqueItems") && node["uniqueItems"] != Json(false)) {
      fail(path + "/uniqueItems", "uniqueItems is not supported");
    }
    std::string open = "\\[" + ws_, close = ws_ + "\\]";
    if (!node.contains("items")) {
      if (min_items > 0) fail(path, "an array with minItems needs an items schema");
      return open + close;
    }
    if (max_items == 0) return open + close;
    std::string item = compile(node["items"], path + "/items", depth + 1);
    std::string more = repeat(ws_ + "," + ws_ + item, std::max(min_items - 1, 0),
                              max_items == kUnbounded ? kUnbounded : max_items - 1);
    std::string body = item + more;
    if (min_items == 0) body = "(?:" + body + ")?";
    return open + body + close;
  }

  const Json& root_;
  std::string ws_;
  std::vector<std::string> ref_stack_;
};

}  // namespace

std::string json_schema_to_regex(const nlohmann::ordered_json& schema,
                                 const JsonSchemaOptions& options) {
  SchemaCompiler compiler(schema, options);
  return compiler.compile(schema, "", 0);
}

}  // namespace sgp::constraint
