// Fuzz target: GGUF bytes → GgufFile::open, every getter and tensor byte, model config and the
// GGUF tokenizer loader. Anything but sgp::Error escaping, or a bad read, is a bug.
#include <cstdint>

#include "fuzz_target.h"
#include "memory_file.h"
#include "model/gguf_file.h"
#include "model/model_config.h"
#include "sgp/error.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::model;

namespace {

// Reads every byte the loader claims a tensor has, so a lying size or offset shows up as an
// ASan report rather than a silent wild pointer.
uint64_t touch(const GgufTensorInfo& t) {
  uint64_t sum = static_cast<uint64_t>(t.n_elements());
  for (size_t i = 0; i < t.n_bytes; ++i) sum += t.data[i];
  return sum;
}

void walk_metadata(const GgufFile& f) {
  for (const auto& [key, value] : f.metadata()) {
    try {
      if (std::holds_alternative<std::string>(value.v)) (void)f.get_string(key);
      if (std::holds_alternative<int64_t>(value.v)) (void)f.get_int(key);
      if (std::holds_alternative<double>(value.v)) (void)f.get_float(key);
      (void)f.get_strings(key);
    } catch (const sgp::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sgp::fuzz::MemoryFile file;
  std::unique_ptr<GgufFile> f;
  try {
    f = GgufFile::open(file.write(data, size));
  } catch (const sgp::Error&) {
    return 0;
  }
  volatile uint64_t sink = 0;
  for (const auto& t : f->tensors()) {
    sink = sink + touch(t);
    if (f->tensor(t.name) == nullptr) __builtin_trap();  // every listed tensor is findable
  }
  walk_metadata(*f);
  try {
    (void)config_from_gguf(*f);
  } catch (const sgp::Error&) {
  }
  try {
    auto tok = Tokenizer::from_gguf(*f);
    auto ids = tok->encode("Hello <|im_start|> wörld\n", true);
    (void)tok->decode(ids);
  } catch (const sgp::Error&) {
  }
  return 0;
}
