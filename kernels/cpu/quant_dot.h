// Dot products of quantized weight rows with activations quantized to 16-bit blocks.
#pragma once

#include <cstdint>

namespace sgp::kernels {

// An activation block: 32 int16 values, their scale d, and s = d * sum(q) (for weight offsets).
// 16 bits, not 8: 8-bit activations move SmolLM2's logits by ~1.0 from an exact forward;
// 16-bit ones by a few thousandths, at a small cost in speed.
struct ActBlock {
  float d;
  float s;
  int16_t q[32];
  // q split as 256 * hi + lo with both parts signed bytes, for 8-bit multiply instructions;
  // |q| <= 32639 keeps hi within int8.
  int8_t lo[32];
  int8_t hi[32];
};

// x has n elements (a multiple of 32).
void quantize_activations(const float* x, ActBlock* out, int64_t n);

// Dots of one weight row of `nb` 32-element blocks with n_tok activation rows (a holds n_tok
// rows of nb blocks): out[t * out_stride] for each token t. A token's result does not depend
// on n_tok or on the other tokens.
using ActDotFn = void (*)(const uint8_t* w, const ActBlock* a, int64_t nb, int n_tok, float* out,
                          int64_t out_stride);
// The kernel for a weight type, or nullptr if the type goes through float dot products.
ActDotFn act_dot_for(uint32_t type);

}  // namespace sgp::kernels
