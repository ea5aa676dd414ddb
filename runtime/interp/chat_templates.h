// Built-in chat templates: the role formats of common model families, and picking the model's own.
#pragma once

#include <string>

#include "compiler/graph.h"

namespace sgp::interp {

// "chatml", "llama3", "llama2", "gemma", "plain"; nullptr when unknown.
const graph::Template* builtin_template(const std::string& name);
// The built-in template whose markers the model's Jinja template uses ("plain" when none does):
// sgp renders role blocks itself rather than running Jinja.
const graph::Template& template_for_model(const std::string& jinja);

}  // namespace sgp::interp
