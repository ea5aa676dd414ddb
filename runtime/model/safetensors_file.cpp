// SafetensorsFile: 8-byte header length, a JSON header, then raw little-endian tensor data.
#include "model/safetensors_file.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "model/mapped_file.h"
#include "sgp/error.h"

namespace sgp::model {

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  Mapping m = map_file(path, 8, "safetensors");
  void* map = m.data;
  size_t size = m.size;
  f->map_ = map;
  f->map_size_ = size;
  const auto* base = static_cast<const uint8_t*>(map);
  uint64_t hlen;
  std::memcpy(&hlen, base, 8);
  if (hlen > size - 8) throw Error(path + ": invalid safetensors file: header length past the end");
  const uint8_t* data = base + 8 + hlen;
  const size_t data_size = size - 8 - hlen;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(base + 8, base + 8 + hlen);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid safetensors header: " + e.what());
  }
  if (!header.is_object()) throw Error(path + ": invalid safetensors header: not an object");
  for (const auto& [name, desc] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string& tensor_name = name;  // clang 14 cannot capture a structured binding
    auto bad = [&](const std::string& what) {
      throw Error(path + ": invalid safetensors tensor '" + tensor_name + "': " + what);
    };
    if (!desc.is_object() || !desc.contains("dtype") || !desc.contains("shape") ||
        !desc.contains("data_offsets")) {
      bad("missing dtype, shape or data_offsets");
    }
    GgufTensorInfo ti;
    ti.name = name;
    std::string dtype = desc["dtype"].is_string() ? desc["dtype"].get<std::string>() : "?";
    size_t elem;
    if (dtype == "F32") {
      ti.type = static_cast<uint32_t>(GgmlType::F32), elem = 4;
    } else if (dtype == "F16") {
      ti.type = static_cast<uint32_t>(GgmlType::F16), elem = 2;
    } else if (dtype == "BF16") {
      ti.type = static_cast<uint32_t>(GgmlType::BF16), elem = 2;
    } else {
      bad("dtype " + dtype + " is not supported (F32, F16, BF16)");
    }
    const auto& shape = desc["shape"];
    const auto& offs = desc["data_offsets"];
    if (!shape.is_array() || shape.size() > 4 || !offs.is_array() || offs.size() != 2 ||
        !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) {
      bad("malformed shape or data_offsets");
    }
    uint64_t n = 1;
    for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
      if (!it->is_number_unsigned()) bad("malformed shape");
      uint64_t d = it->get<uint64_t>();
      if (d > (uint64_t{1} << 40) || __builtin_mul_overflow(n, d, &n) || n > (uint64_t{1} << 48)) {
        bad("impossible shape");
      }
      ti.dims.push_back(static_cast<int64_t>(d));
    }
    if (ti.dims.empty()) ti.dims.push_back(1);
    uint64_t b = offs[0].get<uint64_t>(), e = offs[1].get<uint64_t>();
    if (b > e || e > data_size) bad("data lies past the end of the file");
    if (e - b != n * elem) bad("data size does not match its shape");
    ti.offset = b;
    ti.n_bytes = static_cast<size_t>(e - b);
    ti.data = data + b;
    f->tensors_.push_back(std::move(ti));
  }
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  unmap_file({map_, map_size_});
}

const GgufTensorInfo* SafetensorsFile::tensor(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace sgp::model
