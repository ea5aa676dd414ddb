// Value: equality, ordering, JSON conversion.
#include "interp/value.h"

#include <cmath>

#include "sgp/error.h"

namespace sgp::interp {

const Value* Map::find(const std::string& key) const {
  for (const auto& kv : items_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Value* Map::find(const std::string& key) {
  for (auto& kv : items_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Value& Map::operator[](const std::string& key) {
  if (Value* v = find(key)) return *v;
  items_.emplace_back(key, Value());
  return items_.back().second;
}

List& Value::mut_list() {
  auto& p = std::get<std::shared_ptr<List>>(v_);
  if (p.use_count() > 1) p = std::make_shared<List>(*p);
  return *p;
}

Map& Value::mut_map() {
  auto& p = std::get<std::shared_ptr<Map>>(v_);
  if (p.use_count() > 1) p = std::make_shared<Map>(*p);
  return *p;
}

bool Value::truthy() const {
  switch (type()) {
    case Type::Null:
      return false;
    case Type::Bool:
      return as_bool();
    case Type::Int:
      return as_int() != 0;
    case Type::Float:
      return as_float() != 0.0;
    case Type::Str:
      return !as_str().empty();
    case Type::List:
      return !as_list().empty();
    case Type::Map:
      return as_map().size() != 0;
    case Type::Future:
      return true;
  }
  return false;
}

bool Value::contains_future() const {
  switch (type()) {
    case Type::Future:
      return true;
    case Type::List:
      for (const Value& v : as_list())
        if (v.contains_future()) return true;
      return false;
    case Type::Map:
      for (const auto& kv : as_map().items())
        if (kv.second.contains_future()) return true;
      return false;
    default:
      return false;
  }
}

const char* type_name(Value::Type t) {
  switch (t) {
    case Value::Type::Null:
      return "null";
    case Value::Type::Bool:
      return "bool";
    case Value::Type::Int:
      return "int";
    case Value::Type::Float:
      return "float";
    case Value::Type::Str:
      return "str";
    case Value::Type::List:
      return "list";
    case Value::Type::Map:
      return "map";
    case Value::Type::Future:
      return "future";
  }
  return "?";
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_number() == b.as_number();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Null:
      return true;
    case Value::Type::Bool:
      return a.as_bool() == b.as_bool();
    case Value::Type::Str:
      return a.as_str() == b.as_str();
    case Value::Type::List: {
      const List &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equal(x[i], y[i])) return false;
      return true;
    }
    case Value::Type::Map: {
      const Map &x = a.as_map(), &y = b.as_map();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x.items()) {
        const Value* o = y.find(kv.first);
        if (!o || !equal(kv.second, *o)) return false;
      }
      return true;
    }
    case Value::Type::Future:
      return a.as_future() == b.as_future();
    default:
      return false;
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    double x = a.as_number(), y = b.as_number();
    return x < y ? -1 : x > y;
  }
  if (a.is_str() && b.is_str()) {
    int c = a.as_str().compare(b.as_str());
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_bool() && b.is_bool()) return int(a.as_bool()) - int(b.as_bool());
  if (a.is_list() && b.is_list()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (int c = compare(x[i], y[i])) return c;
    return x.size() < y.size() ? -1 : x.size() > y.size();
  }
  throw Error(std::string("cannot compare ") + type_name(a) + " with " + type_name(b));
}

nlohmann::ordered_json to_json(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null:
      return nullptr;
    case Value::Type::Bool:
      return v.as_bool();
    case Value::Type::Int:
      return v.as_int();
    case Value::Type::Float:
      if (!std::isfinite(v.as_float())) return nullptr;  // JSON has no inf/nan
      return v.as_float();
    case Value::Type::Str:
      return v.as_str();
    case Value::Type::List: {
      auto j = nlohmann::ordered_json::array();
      for (const Value& x : v.as_list()) j.push_back(to_json(x));
      return j;
    }
    case Value::Type::Map: {
      auto j = nlohmann::ordered_json::object();
      for (const auto& kv : v.as_map().items()) j[kv.first] = to_json(kv.second);
      return j;
    }
    case Value::Type::Future:
      return "<future>";
  }
  return nullptr;
}

template <class J>
static Value from_json_impl(const J& j) {
  switch (j.type()) {
    case J::value_t::null:
      return Value();
    case J::value_t::boolean:
      return Value(j.template get<bool>());
    case J::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case J::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case J::value_t::number_float:
      return Value(j.template get<double>());
    case J::value_t::string:
      return Value(j.template get<std::string>());
    case J::value_t::array: {
      List l;
      l.reserve(j.size());
      for (const auto& x : j) l.push_back(from_json_impl(x));
      return Value(std::move(l));
    }
    case J::value_t::object: {
      Map m;
      for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = from_json_impl(it.value());
      return Value(std::move(m));
    }
    default:
      return Value();
  }
}

Value from_json(const nlohmann::ordered_json& j) {
  return from_json_impl(j);
}
Value from_json(const nlohmann::json& j) {
  return from_json_impl(j);
}

std::string to_json_text(const Value& v, int indent) {
  return to_json(v).dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string to_display(const Value& v) {
  return v.is_str() ? v.as_str() : to_json_text(v);
}

}  // namespace sgp::interp
