// Value: the dynamic values of .sgp programs (str, int, float, bool, null, list, map, future).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sgp::interp {

class Value;
class Future;

// Insertion-ordered map (JSON objects keep their key order). Small maps are the norm, so a
// linear search is as fast as a tree and keeps the order users wrote.
class Map {
 public:
  const Value* find(const std::string& key) const;
  Value* find(const std::string& key);
  Value& operator[](const std::string& key);  // inserts null when absent
  size_t size() const;  // defined below Value: clang needs the complete type here
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, Value>> items_;
};

using List = std::vector<Value>;

// Lists and maps are values (copy-on-write): a fork branch's writes never reach its parent.
class Value {
 public:
  enum class Type { Null, Bool, Int, Float, Str, List, Map, Future };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int v) : v_(static_cast<int64_t>(v)) {}
  Value(int64_t v) : v_(v) {}
  Value(double v) : v_(v) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(List l) : v_(std::make_shared<List>(std::move(l))) {}
  Value(Map m) : v_(std::make_shared<Map>(std::move(m))) {}
  Value(std::shared_ptr<Future> f) : v_(std::move(f)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_int() const { return type() == Type::Int; }
  bool is_float() const { return type() == Type::Float; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_str() const { return type() == Type::Str; }
  bool is_list() const { return type() == Type::List; }
  bool is_map() const { return type() == Type::Map; }
  bool is_future() const { return type() == Type::Future; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  double as_number() const { return is_int() ? static_cast<double>(as_int()) : as_float(); }
  const std::string& as_str() const { return std::get<std::string>(v_); }
  const List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
  const Map& as_map() const { return *std::get<std::shared_ptr<Map>>(v_); }
  const std::shared_ptr<Future>& as_future() const { return std::get<std::shared_ptr<Future>>(v_); }
  // Mutable access copies a shared list/map first.
  List& mut_list();
  Map& mut_map();

  bool truthy() const;
  // Whether a future appears anywhere inside (lists and maps included).
  bool contains_future() const;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Map>, std::shared_ptr<Future>>
      v_;
};

inline size_t Map::size() const { return items_.size(); }

const char* type_name(Value::Type t);  // "null", "bool", "int", ...
inline const char* type_name(const Value& v) {
  return type_name(v.type());
}

bool equal(const Value& a, const Value& b);  // deep; 1 == 1.0
// Total order for sorted/min/max/comparisons: numbers, strings, lists (lexicographic).
// Throws sgp::Error for values of incomparable types.
int compare(const Value& a, const Value& b);

nlohmann::ordered_json to_json(const Value& v);  // futures must be resolved first
Value from_json(const nlohmann::ordered_json& j);
Value from_json(const nlohmann::json& j);
std::string to_json_text(const Value& v, int indent = -1);
// str(): strings as-is, everything else as JSON text.
std::string to_display(const Value& v);

}  // namespace sgp::interp
