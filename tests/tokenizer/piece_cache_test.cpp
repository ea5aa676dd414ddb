// The BPE piece cache stays within its memory budget however many distinct words pass through,
// and eviction never changes what encode() returns.
#include "tokenizer/piece_cache.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "tokenizer/byte_level_bpe.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::model;

namespace {

std::string random_word(std::mt19937_64& rng, size_t len) {
  std::string w = " ";
  for (size_t i = 0; i < len; ++i) w += static_cast<char>('a' + rng() % 26);
  return w;
}

}  // namespace

TEST_CASE("piece cache: bytes never exceed the budget; hits return what was stored") {
  PieceCache cache(8192, 32);
  std::mt19937_64 rng(7);
  const std::vector<int32_t> hot_tokens = {11, 22, 33};
  cache.insert(" hot", hot_tokens);
  size_t hits = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string w = random_word(rng, 1 + rng() % 12) + std::to_string(i);
    std::vector<int32_t> tokens(1 + i % 5, i);
    cache.insert(w, tokens);
    CHECK(cache.bytes() <= cache.max_bytes());
    std::vector<int32_t> got = {-1};
    if (cache.find(w, got)) {
      ++hits;
      tokens.insert(tokens.begin(), -1);  // find() appends
      CHECK(got == tokens);
    }
    // A piece in steady use survives every generation turnover.
    std::vector<int32_t> hot;
    REQUIRE(cache.find(" hot", hot));
    CHECK(hot == hot_tokens);
  }
  CHECK(hits == 20000);  // just inserted: always in the young generation
  CHECK(cache.entries() < 200);
  CHECK(cache.bytes() > cache.max_bytes() / 4);  // the budget is used, not just bounded
  // Long pieces, and entries bigger than half the budget, are never stored.
  cache.insert(std::string(33, 'x'), {1});
  std::vector<int32_t> none;
  CHECK_FALSE(cache.find(std::string(33, 'x'), none));
  PieceCache small(256, 64);
  small.insert(" big", std::vector<int32_t>(64, 1));
  CHECK_FALSE(small.find(" big", none));
  CHECK(small.bytes() == 0);
}

TEST_CASE("byte-level BPE: the word cache is bounded under a stream of new words") {
  auto tok =
      Tokenizer::from_hf_folder(std::string(SGP_SOURCE_DIR) + "/tests/data/tokenizer/smollm_bpe");
  auto* bpe = dynamic_cast<const ByteLevelBpe*>(tok.get());
  REQUIRE(bpe != nullptr);
  const std::string probe = "The quick brown fox jumps over the lazy dog, again and again.";
  const auto want =
      Tokenizer::from_hf_folder(std::string(SGP_SOURCE_DIR) + "/tests/data/tokenizer/smollm_bpe")
          ->encode(probe);
  std::mt19937_64 rng(11);
  size_t words = 0, peak = 0;
  for (int round = 0; round < 60; ++round) {
    std::string text;
    for (int i = 0; i < 2000; ++i, ++words) text += random_word(rng, 3 + rng() % 10);
    tok->encode(text);
    peak = std::max(peak, bpe->cache().bytes());
    CHECK(tok->encode(probe) == want);
  }
  MESSAGE(words << " distinct words; cache peak " << peak << " bytes, " << bpe->cache().entries()
                << " entries");
  CHECK(peak <= bpe->cache().max_bytes());
  CHECK(bpe->cache().entries() < words);
}
