// Fuzz target: raw bytes → the server's HTTP request parser (with its limits) and, for a parsed
// request, the JSON body handling of the OpenAI and native endpoints it names.
#include <cstdint>
#include <string>

#include "fuzz_target.h"
#include "server/api_error.h"
#include "server/http_message.h"
#include "server/native_api.h"
#include "server/openai_request.h"

using namespace sgp::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  Limits limits;
  limits.max_body_bytes = 8192;
  limits.max_header_bytes = 2048;
  limits.max_tokens = 512;
  ParsedRequest p =
      parse_request_bytes(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!p.request) return 0;
  (void)request_id_for(*p.request);
  std::string path = request_path(*p.request);
  try {
    Json body = parse_json_object(p.request->body());
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
      (void)parse_openai_request(body, path == "/v1/chat/completions", limits, 1000);
    } else {
      ConstraintSpec spec;
      Json sp = body.contains("sampling_params") ? body["sampling_params"] : body;
      if (sp.is_object()) (void)parse_native_sampling(sp, limits, 1000, spec);
      if (body.contains("response_format")) (void)parse_response_format(body["response_format"]);
    }
  } catch (const ApiError& e) {
    if (e.status() < 400 || e.status() > 599) __builtin_trap();  // every refusal is an HTTP error
  }
  return 0;
}
