// Input tokens that the previous step drew on the device (model::SeqChunk::input_from_prev_row):
// copied into a step's token array on the device, so the host never waits for them.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace sgp::cuda {

// One input token to fill: tokens[slot] = drawn[draw].
struct FutureToken {
  int slot = 0;  // index into the step's token array
  int draw = 0;  // index into the previous step's drawn tokens
};

// Device pointers; one thread per entry of `futures`. A negative drawn token (none was left)
// becomes 0.
void copy_drawn_tokens(int* tokens, const FutureToken* futures, int n, const int32_t* drawn,
                       cudaStream_t stream);

}  // namespace sgp::cuda
