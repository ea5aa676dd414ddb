// Input balance: whether a REPL entry is complete or needs more lines (open brackets, strings).
#pragma once

#include <string>

namespace sgp::cli {

// True when every (, [, { is closed and no "..."/"""...""" string is left open; a line ending
// in a backslash also continues. Comments (#) are skipped.
bool input_complete(const std::string& text);

}  // namespace sgp::cli
