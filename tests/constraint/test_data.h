// Shared test inputs: the regex list and the real-vocabulary loader.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "constraint/vocabulary.h"

namespace sgp::constraint::testing {

inline std::vector<std::string> load_regexes() {
  std::ifstream in(std::string(SGP_SOURCE_DIR) + "/tests/data/constraint/regexes.txt");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// SmolLM2's 49k-token vocabulary, from tests/data (written by tools/make_constraint_vocab.py).
inline std::shared_ptr<const Vocabulary> smollm2_vocab() {
  static auto vocab = Vocabulary::from_hex_file(std::string(SGP_SOURCE_DIR) +
                                                "/tests/data/constraint/smollm2_vocab.hex");
  return vocab;
}

}  // namespace sgp::constraint::testing
