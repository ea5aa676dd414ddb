// The model shape the GPU benchmarks (and the engine host-work bench) use: Llama-3-8B
// (PERFORMANCE.md).
#pragma once

#include "model/model_config.h"

namespace sgp::bench {

inline model::ModelConfig llama3_8b() {
  model::ModelConfig c;
  c.arch = "llama";
  c.name = "llama-3-8b-shape (random)";
  c.n_vocab = 128256;
  c.n_embd = 4096;
  c.n_layer = 32;
  c.n_head = 32;
  c.n_head_kv = 8;
  c.head_dim = 128;
  c.n_ff = 14336;
  c.rope_theta = 500000.f;
  return c;
}

}  // namespace sgp::bench
