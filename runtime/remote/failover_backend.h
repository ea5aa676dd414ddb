// FailoverBackend: what a backend that can go away offers a router — failures of the backend
// itself told apart from failures of a request, and a health probe.
#pragma once

#include <functional>
#include <string>

#include "engine/request.h"
#include "sgp/error.h"

namespace sgp::remote {

// Why a backend, not the request, failed: it cannot be reached, dropped the connection, went
// silent past the deadline, or is draining (503). `overloaded` (429: too many requests at once)
// means it is up but full: worth another backend, not worth marking it down.
struct BackendFailure {
  std::string reason;  // names the backend
  bool overloaded = false;
};

// Thrown by a FailoverBackend's blocking calls (tokenize, detokenize) when the backend itself
// failed, so a router can ask another one.
class BackendDown : public Error {
 public:
  using Error::Error;
};

class FailoverBackend {
 public:
  using OnDown = std::function<void(BackendFailure)>;
  virtual ~FailoverBackend() = default;

  // As ModelClient::generate/score, except that when the backend itself fails the request,
  // on_down runs instead of on_done (exactly one of the two runs). on_text may already have run.
  virtual engine::RequestId generate_or_down(engine::GenerateRequest request, OnDown on_down) = 0;
  virtual engine::RequestId score_or_down(engine::ScoreRequest request, OnDown on_down) = 0;

  // Blocking, with short deadlines: whether the backend answers now. A backend that was down at
  // start-up fetches its model facts here first. On false, `why` says what failed.
  virtual bool probe(std::string& why) = 0;
  // False while a backend that was down at start-up has not answered yet (its model facts,
  // tokenizer included, are unknown until then).
  virtual bool ready() const = 0;
};

}  // namespace sgp::remote
