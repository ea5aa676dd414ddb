// Tests of StopMatcher: stop strings across pieces and holding back text that may start one.
#include "engine/stop_matcher.h"

#include <doctest/doctest.h>

using sgp::engine::StopMatcher;

TEST_CASE("stop matcher: a stop string split across pieces is found and cut") {
  StopMatcher m({"o w"});
  CHECK_FALSE(m.push("hel"));
  CHECK_FALSE(m.push("lo"));
  CHECK(m.push(" wo"));
  CHECK(m.text() == "hell");
  CHECK(m.take_rest() == "hell");
}

TEST_CASE("stop matcher: streaming holds back a possible stop-string start") {
  StopMatcher m({"END"});
  m.push("abcE");
  CHECK(m.take_ready() == "abc");
  m.push("N");
  CHECK(m.take_ready() == "");
  m.push("x");
  CHECK(m.take_ready() == "ENx");
  m.push("yEN");
  CHECK(m.take_ready() == "y");
  CHECK(m.push("D!"));
  CHECK(m.take_ready() == "");
  CHECK(m.text() == "abcENxy");
  CHECK(m.take_rest() == "");
}

TEST_CASE("stop matcher: the earliest of several stop strings wins; no stops streams all") {
  StopMatcher m({"cd", "bcde"});
  CHECK(m.push("abcdef"));
  CHECK(m.text() == "a");
  StopMatcher none({});
  none.push("xyz");
  CHECK(none.take_ready() == "xyz");
  StopMatcher empty({""});
  CHECK_FALSE(empty.push("abc"));
}
