// GgufFile: maps a GGUF v2/v3 file and validates every count, length and offset before use.
#include "model/gguf_file.h"

#include <cstring>
#include <limits>
#include <unordered_set>

#include "kernels/cpu/ggml_types.h"
#include "model/mapped_file.h"
#include "sgp/error.h"

namespace sgp::model {
namespace {

// GGUF metadata value types (fixed by the format).
enum ValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// Bytes a value of this type takes at least (strings: their length field).
size_t min_value_size(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
    case kString:
      return 8;
    case kArray:
      return 12;
    default:
      return 0;
  }
}

// A bounds-checked little-endian cursor over the mapping.
class Reader {
 public:
  Reader(const uint8_t* base, size_t size, const std::string& path)
      : base_(base), size_(size), path_(path) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": invalid GGUF file: " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  void need(size_t n, const char* what) const {
    if (n > remaining()) fail(std::string("truncated while reading ") + what);
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    if (len > remaining()) {
      fail(std::string(what) + " claims " + std::to_string(len) + " bytes, only " +
           std::to_string(remaining()) + " remain");
    }
    std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }
  // Checks that `count` items of at least `min_size` bytes each can still fit in the file.
  void check_count(uint64_t count, size_t min_size, const std::string& what) const {
    if (min_size != 0 && count > remaining() / min_size) {
      fail(what + " claims " + std::to_string(count) + " entries, more than the file can hold");
    }
  }

 private:
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

int64_t read_int_scalar(Reader& r, uint32_t t) {
  switch (t) {
    case kU8:
      return r.read<uint8_t>("u8 value");
    case kI8:
      return r.read<int8_t>("i8 value");
    case kU16:
      return r.read<uint16_t>("u16 value");
    case kI16:
      return r.read<int16_t>("i16 value");
    case kU32:
      return r.read<uint32_t>("u32 value");
    case kI32:
      return r.read<int32_t>("i32 value");
    case kU64:
      return static_cast<int64_t>(r.read<uint64_t>("u64 value"));
    case kI64:
      return r.read<int64_t>("i64 value");
    default:
      return 0;
  }
}

bool is_int_type(uint32_t t) {
  return t == kU8 || t == kI8 || t == kU16 || t == kI16 || t == kU32 || t == kI32 || t == kU64 ||
         t == kI64;
}

GgufValue read_value(Reader& r, uint32_t t, const std::string& key) {
  GgufValue out;
  if (is_int_type(t)) {
    out.v = read_int_scalar(r, t);
  } else if (t == kF32) {
    out.v = static_cast<double>(r.read<float>("f32 value"));
  } else if (t == kF64) {
    out.v = r.read<double>("f64 value");
  } else if (t == kBool) {
    out.v = r.read<uint8_t>("bool value") != 0;
  } else if (t == kString) {
    out.v = r.read_string("string value");
  } else if (t == kArray) {
    uint32_t et = r.read<uint32_t>("array element type");
    uint64_t n = r.read<uint64_t>("array length");
    if (et == kArray) r.fail("key '" + key + "': nested arrays are not supported");
    size_t min = min_value_size(et);
    if (min == 0) r.fail("key '" + key + "': unknown array element type " + std::to_string(et));
    r.check_count(n, min, "array '" + key + "'");
    GgufValue::Array arr;
    if (is_int_type(et)) {
      std::vector<int64_t> v(n);
      for (auto& x : v) x = read_int_scalar(r, et);
      arr = std::move(v);
    } else if (et == kF32 || et == kF64) {
      std::vector<double> v(n);
      for (auto& x : v)
        x = et == kF32 ? r.read<float>("f32 element") : r.read<double>("f64 element");
      arr = std::move(v);
    } else if (et == kBool) {
      std::vector<bool> v(n);
      for (uint64_t i = 0; i < n; ++i) v[i] = r.read<uint8_t>("bool element") != 0;
      arr = std::move(v);
    } else {
      std::vector<std::string> v;
      v.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.push_back(r.read_string("string element"));
      arr = std::move(v);
    }
    out.v = std::move(arr);
  } else {
    r.fail("key '" + key + "': unknown value type " + std::to_string(t));
  }
  return out;
}

const char* kind_name(const GgufValue& v) {
  switch (v.v.index()) {
    case 0:
      return "an integer";
    case 1:
      return "a float";
    case 2:
      return "a bool";
    case 3:
      return "a string";
    default:
      return "an array";
  }
}

}  // namespace

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  Mapping m = map_file(path, 24, "GGUF");
  void* map = m.data;
  size_t size = m.size;
  f->map_ = map;
  f->map_size_ = size;
  const auto* base = static_cast<const uint8_t*>(map);

  Reader r(base, size, f->path_);
  if (std::memcmp(base, "GGUF", 4) != 0) {
    throw Error(path + ": not a GGUF file (bad magic)");
  }
  r.read<uint32_t>("magic");
  f->version_ = r.read<uint32_t>("version");
  if (f->version_ == 1) throw Error(path + ": GGUF version 1 is not supported (only 2 and 3)");
  if (f->version_ != 2 && f->version_ != 3) {
    throw Error(path + ": unsupported GGUF version " + std::to_string(f->version_) +
                " (only 2 and 3; a big-endian file?)");
  }
  uint64_t n_tensors = r.read<uint64_t>("tensor count");
  uint64_t n_kv = r.read<uint64_t>("metadata count");
  r.check_count(n_kv, 8 + 4 + 1, "metadata");
  f->kv_.reserve(n_kv);
  std::unordered_set<std::string> keys;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.read_string("metadata key");
    uint32_t t = r.read<uint32_t>("metadata value type");
    if (!keys.insert(key).second) r.fail("duplicate metadata key '" + key + "'");
    GgufValue v = read_value(r, t, key);
    f->kv_.emplace_back(std::move(key), std::move(v));
  }

  uint64_t alignment = 32;
  if (const GgufValue* a = f->find("general.alignment")) {
    const int64_t* ai = std::get_if<int64_t>(&a->v);
    if (ai == nullptr || *ai <= 0 || *ai > (1 << 20) || (*ai & (*ai - 1)) != 0) {
      throw Error(path + ": invalid GGUF file: general.alignment must be a power of two");
    }
    alignment = static_cast<uint64_t>(*ai);
  }

  // Name length + n_dims + type + offset: 24 bytes per tensor at least.
  r.check_count(n_tensors, 24, "tensor table");
  f->tensors_.reserve(n_tensors);
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo ti;
    ti.name = r.read_string("tensor name");
    if (!names.insert(ti.name).second) r.fail("duplicate tensor '" + ti.name + "'");
    uint32_t n_dims = r.read<uint32_t>("tensor rank");
    if (n_dims == 0 || n_dims > 4) {
      r.fail("tensor '" + ti.name + "' has " + std::to_string(n_dims) + " dimensions (1 to 4)");
    }
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = r.read<uint64_t>("tensor dimension");
      if (dim == 0 || dim > (uint64_t{1} << 40) || __builtin_mul_overflow(n_el, dim, &n_el) ||
          n_el > (uint64_t{1} << 48)) {
        r.fail("tensor '" + ti.name + "' has an impossible shape");
      }
      ti.dims.push_back(static_cast<int64_t>(dim));
    }
    ti.type = r.read<uint32_t>("tensor type");
    ti.offset = r.read<uint64_t>("tensor offset");
    const kernels::TypeTraits* tt = kernels::type_traits(ti.type);
    if (tt == nullptr) {
      r.fail("tensor '" + ti.name + "' has type " + kernels::type_name(ti.type) +
             ", which sgp cannot read");
    }
    if (ti.dims[0] % tt->block_elems != 0) {
      r.fail("tensor '" + ti.name + "' rows of " + std::to_string(ti.dims[0]) +
             " elements are not whole " + tt->name + " blocks");
    }
    ti.n_bytes = static_cast<size_t>(n_el / tt->block_elems) * tt->block_bytes;
    if (ti.offset % alignment != 0) {
      r.fail("tensor '" + ti.name + "' offset " + std::to_string(ti.offset) + " is not aligned");
    }
    f->tensors_.push_back(std::move(ti));
  }

  uint64_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  uint64_t data_size = data_start <= size ? size - data_start : 0;
  for (auto& ti : f->tensors_) {
    if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset) {
      throw Error(path + ": invalid GGUF file: tensor '" + ti.name + "' data [" +
                  std::to_string(ti.offset) + ", +" + std::to_string(ti.n_bytes) +
                  ") lies past the end of the file (truncated?)");
    }
    ti.data = base + data_start + ti.offset;
  }
  return f;
}

GgufFile::~GgufFile() {
  unmap_file({map_, map_size_});
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : kv_) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {
const GgufValue& must_find(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) throw Error(f.path() + ": missing metadata key '" + std::string(key) + "'");
  return *v;
}
[[noreturn]] void wrong_type(const GgufFile& f, std::string_view key, const GgufValue& v,
                             const char* want) {
  throw Error(f.path() + ": metadata key '" + std::string(key) + "' is " + kind_name(v) +
              ", expected " + want);
}
template <typename T>
const std::vector<T>& get_array(const GgufFile& f, std::string_view key, const char* want) {
  const GgufValue& v = must_find(f, key);
  if (const auto* a = std::get_if<GgufValue::Array>(&v.v)) {
    if (const auto* x = std::get_if<std::vector<T>>(a)) return *x;
  }
  wrong_type(f, key, v, want);
}
}  // namespace

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = must_find(*this, key);
  if (const auto* s = std::get_if<std::string>(&v.v)) return *s;
  wrong_type(*this, key, v, "a string");
}
std::string GgufFile::get_string(std::string_view key, std::string def) const {
  return has(key) ? get_string(key) : def;
}
int64_t GgufFile::get_int(std::string_view key) const {
  const GgufValue& v = must_find(*this, key);
  if (const auto* i = std::get_if<int64_t>(&v.v)) return *i;
  if (const auto* b = std::get_if<bool>(&v.v)) return *b ? 1 : 0;
  wrong_type(*this, key, v, "an integer");
}
int64_t GgufFile::get_int(std::string_view key, int64_t def) const {
  return has(key) ? get_int(key) : def;
}
double GgufFile::get_float(std::string_view key) const {
  const GgufValue& v = must_find(*this, key);
  if (const auto* d = std::get_if<double>(&v.v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v.v)) return static_cast<double>(*i);
  wrong_type(*this, key, v, "a number");
}
double GgufFile::get_float(std::string_view key, double def) const {
  return has(key) ? get_float(key) : def;
}
const std::vector<std::string>& GgufFile::get_strings(std::string_view key) const {
  return get_array<std::string>(*this, key, "an array of strings");
}
const std::vector<int64_t>& GgufFile::get_ints(std::string_view key) const {
  return get_array<int64_t>(*this, key, "an array of integers");
}
const std::vector<double>& GgufFile::get_floats(std::string_view key) const {
  return get_array<double>(*this, key, "an array of floats");
}

const GgufTensorInfo* GgufFile::tensor(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace sgp::model
