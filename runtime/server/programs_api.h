// POST /v1/programs/run: runs .sgp source (or a program registered at start-up) with arguments.
#pragma once

#include "server/router.h"

namespace sgp::server {

void add_program_routes(Router& router);

}  // namespace sgp::server
