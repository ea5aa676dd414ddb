// A small vocabulary for constraint fuzzing, and a walk over an automaton's states.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "constraint/token_automaton.h"

namespace sgp::fuzz {

// Every single byte plus a few dozen JSON- and word-like tokens; the last token is excluded.
std::shared_ptr<const constraint::Vocabulary> small_vocabulary();

// Follows forced text and tokens picked by the input's bytes, checking the automaton's answers
// agree with each other (allowed mask vs next_state, finished vs no legal token).
void walk_automaton(const constraint::TokenAutomaton& a, const uint8_t* data, size_t size);

}  // namespace sgp::fuzz
