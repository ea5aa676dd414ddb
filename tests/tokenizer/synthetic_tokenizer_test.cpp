// SyntheticTokenizer: text survives encode/decode, numbered words are single tokens.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "tokenizer/synthetic_tokenizer.h"

#include <doctest/doctest.h>

#include <random>

#include "sgp/error.h"

using sgp::model::SyntheticTokenizer;

TEST_CASE("synthetic tokenizer: words, specials, bytes and round trips") {
  SyntheticTokenizer tok(1000);
  CHECK(tok.n_vocab() == 1000);
  CHECK(tok.encode(" w258 w999") == std::vector<int32_t>{258, 999});
  // 1000 is outside the vocabulary and 0123 has a leading zero: bytes.
  CHECK(tok.encode(" w1000").size() == 6);
  CHECK(tok.encode(" w0123").size() == 6);
  CHECK(tok.encode("<|eos|>x") == std::vector<int32_t>{SyntheticTokenizer::kEos, 'x'});
  CHECK(tok.encode("<|eos|>", false).size() == 7);
  CHECK(tok.is_special(SyntheticTokenizer::kEos));
  CHECK(tok.stop_ids() == std::vector<int32_t>{SyntheticTokenizer::kEos});
  CHECK_THROWS_AS(tok.token_bytes(1000), sgp::Error);
  CHECK_THROWS_AS(SyntheticTokenizer(10), sgp::Error);

  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 12; ++i) ids.push_back(static_cast<int32_t>(rng() % 1000));
    const std::string text = tok.decode(ids);
    CHECK(tok.decode(tok.encode(text)) == text);
    std::vector<int32_t> words;
    for (int i = 0; i < 12; ++i) words.push_back(258 + static_cast<int32_t>(rng() % 742));
    CHECK(tok.encode(tok.decode(words), false) == words);
  }
}
