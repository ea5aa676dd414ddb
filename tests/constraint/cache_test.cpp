// Tests for the process-wide automaton cache.
#include <doctest/doctest.h>

#include <thread>

#include "constraint/constraint_cache.h"
#include "constraint/constraint_factory.h"
#include "sgp/error.h"

using namespace sgp::constraint;

namespace {

std::shared_ptr<const Vocabulary> letters(const std::string& extra) {
  std::vector<std::string> toks;
  for (char c = 'a'; c <= 'z'; ++c) toks.emplace_back(1, c);
  toks.emplace_back("\"");
  toks.push_back(extra);
  return std::make_shared<const Vocabulary>(toks, std::vector<bool>(toks.size(), false));
}

}  // namespace

TEST_CASE("equal pattern and vocabulary share one automaton; others do not") {
  auto v1 = letters("ab");
  auto v1_copy = letters("ab");
  auto v2 = letters("abc");
  CHECK(v1->fingerprint() == v1_copy->fingerprint());
  CHECK(v1->fingerprint() != v2->fingerprint());
  auto a = regex_constraint("[a-c]+x", v1);
  CHECK(regex_constraint("[a-c]+x", v1_copy) == a);
  CHECK(regex_constraint("[a-c]+x", v2) != a);
  CHECK(regex_constraint("[a-c]+y", v1) != a);
  auto s1 = json_constraint(std::string_view(R"({"enum":["ab","cd"]})"), v1);
  CHECK(json_constraint(nlohmann::ordered_json::parse(R"({"enum":["ab","cd"]})"), v1) == s1);
}

TEST_CASE("failed builds are not cached, and concurrent requests share one build") {
  auto v = letters("zz");
  size_t misses = ConstraintCache::instance().misses();
  CHECK_THROWS_AS(regex_constraint("[0-9]", v), sgp::Error);
  CHECK_THROWS_AS(regex_constraint("[0-9]", v), sgp::Error);
  CHECK(ConstraintCache::instance().misses() == misses + 2);
  std::vector<std::shared_ptr<const TokenAutomaton>> got(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] { got[i] = regex_constraint("(ab|cd){1,20}z", v); });
  for (auto& t : threads) t.join();
  for (auto& g : got) CHECK(g == got[0]);
}

TEST_CASE("the cache evicts the least recently used entry beyond its capacity") {
  auto& cache = ConstraintCache::instance();
  auto v = letters("qq");
  cache.set_capacity(2);
  auto a = regex_constraint("a+", v);
  auto b = regex_constraint("b+", v);
  CHECK(regex_constraint("a+", v) == a);  // a is now most recent
  regex_constraint("c+", v);              // evicts b
  CHECK(regex_constraint("a+", v) == a);
  CHECK(regex_constraint("b+", v) != b);
  cache.set_capacity(64);
}
