// Fuzz target: the text files of a Hugging Face model folder → Tokenizer::from_hf_folder
// (tokenizer.json, tokenizer_config.json) and read_hf_config (config.json). The input holds the
// three files in that order, separated by NUL bytes; a part that is missing leaves its file out
// of the folder. A tokenizer that loads must keep its ids in range and encode and decode text.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_target.h"
#include "model/model_config.h"
#include "scratch_folder.h"
#include "sgp/error.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::model;

namespace {

void check_tokenizer(const Tokenizer& tok) {
  const int n = tok.n_vocab();
  if (n <= 0) __builtin_trap();
  auto in_range = [n](int32_t id) { return id >= 0 && id < n; };
  if ((tok.bos_id() != -1 && !in_range(tok.bos_id())) ||
      (tok.eos_id() != -1 && !in_range(tok.eos_id())))
    __builtin_trap();
  for (int32_t id : tok.stop_ids())
    if (!in_range(id)) __builtin_trap();
  volatile size_t sink = 0;
  for (int32_t id = 0; id < n && id < 4096; ++id)
    sink = sink + tok.token_bytes(id).size() + (tok.is_special(id) ? 1 : 0);
  static const char* const texts[] = {"Hello, world! It's 42.", " héllo  wörld\n\t中文 🙂",
                                      "<|im_start|>user\nhi<|im_end|>", "\xff\xfe \xc3("};
  for (const char* text : texts) {
    for (bool special : {false, true}) {
      std::vector<int32_t> ids = tok.encode(text, special);
      for (int32_t id : ids)
        if (!in_range(id)) __builtin_trap();
      sink = sink + tok.decode(ids).size();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  static sgp::fuzz::ScratchFolder folder;
  static const char* const names[] = {"tokenizer.json", "tokenizer_config.json", "config.json"};
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  bool more = true;
  for (const char* name : names) {
    if (!more) {
      folder.remove(name);
      continue;
    }
    size_t end = rest.find('\0');
    folder.write(name, rest.substr(0, end));
    more = end != std::string_view::npos;
    rest = more ? rest.substr(end + 1) : std::string_view();
  }
  std::shared_ptr<Tokenizer> tok;
  try {
    tok = Tokenizer::from_hf_folder(folder.path());
  } catch (const sgp::Error&) {
  }
  if (tok) check_tokenizer(*tok);
  try {
    ModelConfig c = read_hf_config(folder.path());
    volatile int sink = c.n_layer + c.n_vocab;
    (void)sink;
  } catch (const sgp::Error&) {
  }
  return 0;
}
