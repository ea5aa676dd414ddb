// Cross-check: the vocabulary taken from the real tokenizer equals the one the Python script
// decoded from the GGUF.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>

#include "constraint/constraint_factory.h"
#include "model/gguf_file.h"
#include "test_data.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::constraint;

TEST_CASE("Vocabulary::from_tokenizer matches the GGUF vocabulary decoded independently") {
  const std::string model = std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(model)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  auto file = sgp::model::GgufFile::open(model);
  auto tok = sgp::model::Tokenizer::from_gguf(*file);
  auto from_tok = Vocabulary::from_tokenizer(*tok);
  auto from_file = testing::smollm2_vocab();
  REQUIRE(from_tok->size() == from_file->size());
  int differing = 0;
  for (int32_t i = 0; i < from_tok->size(); ++i) {
    bool same = from_tok->excluded(i) == from_file->excluded(i) &&
                (from_tok->excluded(i) || from_tok->bytes(i) == from_file->bytes(i));
    differing += !same;
  }
  CHECK(differing == 0);
  CHECK(from_tok->excluded(tok->eos_id()));

  // A constrained output re-encodes to text the constraint still accepts.
  auto c = regex_constraint("\\{\"answer\": \"(yes|no)\"\\}", from_tok);
  std::string text = "{\"answer\": \"yes\"}";
  std::vector<int32_t> ids = tok->encode(text, false);
  int32_t s = c->start_state();
  for (int32_t id : ids) {
    s = c->next_state(s, id);
    REQUIRE(s >= 0);
  }
  CHECK(c->accepting(s));
}
