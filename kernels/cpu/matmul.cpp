// Matmul: integer kernels for the 32-block formats, dequantize-then-FMA for the rest.
#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <string>

#include "kernels/cpu/dequant.h"
#include "kernels/cpu/packed_rows.h"
#include "kernels/cpu/vec_f32.h"
#include "model/gguf_file.h"
#include "sgp/error.h"

namespace sgp::kernels {
namespace {

// Rows per task: a few contiguous stretches per thread, so each thread streams its weights
// sequentially (hardware prefetch) while uneven threads can still take more than their share.
constexpr int kTasksPerThread = 4;
constexpr int64_t kMinRows = 16;
static_assert(kMinRows % kPackRows == 0, "tasks must cover whole packed groups");

int64_t rows_per_task(int64_t rows, int threads) {
  int64_t per = (rows + threads * kTasksPerThread - 1) / (threads * kTasksPerThread);
  return std::max(kMinRows, (per + kMinRows - 1) / kMinRows * kMinRows);
}
constexpr int kTokenTile = 32;

}  // namespace

void matmul(ThreadPool& pool, MatmulScratch& scratch, const float* x, int n_tok,
            const MatmulJob* jobs, int n_jobs) {
  if (n_jobs == 0 || n_tok == 0) return;
  const int64_t cols = jobs[0].w->cols;
  bool need_act = false;
  std::vector<int> first_task(static_cast<size_t>(n_jobs) + 1, 0);
  std::vector<int64_t> task_rows(n_jobs);
  for (int j = 0; j < n_jobs; ++j) {
    const WeightView& w = *jobs[j].w;
    if (w.cols != cols) throw Error("matmul: weights disagree on the input width");
    require_supported(w.type, "weight");
    need_act |= act_dot_for(w.type) != nullptr || w.packed != nullptr;
    task_rows[j] = rows_per_task(w.rows, pool.size());
    first_task[j + 1] =
        first_task[j] + static_cast<int>((w.rows + task_rows[j] - 1) / task_rows[j]);
  }
  const int64_t nb = cols / 32;
  if (need_act) {
    scratch.xq.resize(static_cast<size_t>(n_tok) * nb);
    for (int t = 0; t < n_tok; ++t) {
      quantize_activations(x + static_cast<size_t>(t) * cols, scratch.xq.data() + t * nb, cols);
    }
  }
  if (static_cast<int>(scratch.rows.size()) < pool.size()) scratch.rows.resize(pool.size());

  pool.parallel_for(first_task[n_jobs], [&](int task, int thread) {
    int j = static_cast<int>(std::upper_bound(first_task.begin(), first_task.end(), task) -
                             first_task.begin()) -
            1;
    const MatmulJob& job = jobs[j];
    const WeightView& w = *job.w;
    const int64_t r0 = static_cast<int64_t>(task - first_task[j]) * task_rows[j];
    const int64_t r1 = std::min(w.rows, r0 + task_rows[j]);
    if (w.packed != nullptr) {
      PackedDotFn dot = packed_dot_for(w.type);
      const size_t group_bytes = static_cast<size_t>(nb) * kPackedBlockBytes;
      for (int t0 = 0; t0 < n_tok; t0 += kTokenTile) {
        int t1 = std::min(n_tok, t0 + kTokenTile);
        for (int64_t r = r0; r < r1; r += kPackRows) {
          float* y = job.y + t0 * job.ldy + r;
          dot(w.packed + r / kPackRows * group_bytes, scratch.xq.data() + t0 * nb, nb, t1 - t0, y,
              job.ldy);
          if (job.bias) {
            for (int t = 0; t < t1 - t0; ++t) {
              for (int k = 0; k < kPackRows; ++k) y[t * job.ldy + k] += job.bias[r + k];
            }
          }
        }
      }
      return;
    }
    if (ActDotFn dot = act_dot_for(w.type)) {
      for (int t0 = 0; t0 < n_tok; t0 += kTokenTile) {
        int t1 = std::min(n_tok, t0 + kTokenTile);
        for (int64_t r = r0; r < r1; ++r) {
          float* y = job.y + t0 * job.ldy + r;
          dot(w.row(r), scratch.xq.data() + t0 * nb, nb, t1 - t0, y, job.ldy);
          if (job.bias) {
            for (int t = 0; t < t1 - t0; ++t) y[t * job.ldy] += job.bias[r];
          }
        }
      }
      return;
    }
    // Float path: plain F32 rows are used in place, others are expanded 16 rows at a time.
    const bool in_place = w.type == static_cast<uint32_t>(model::GgmlType::F32);
    std::vector<float>& buf = scratch.rows[thread];
    for (int64_t s0 = r0; s0 < r1; s0 += kMinRows) {
      const int64_t s1 = std::min(r1, s0 + kMinRows);
      if (!in_place) {
        buf.resize(static_cast<size_t>(s1 - s0) * cols);
        for (int64_t r = s0; r < s1; ++r) {
          dequantize_row(w.type, w.row(r), &buf[(r - s0) * cols], cols);
        }
      }
      for (int t0 = 0; t0 < n_tok; t0 += kTokenTile) {
        int t1 = std::min(n_tok, t0 + kTokenTile);
        for (int64_t r = s0; r < s1; ++r) {
          const float* wr =
              in_place ? reinterpret_cast<const float*>(w.row(r)) : &buf[(r - s0) * cols];
          float b = job.bias ? job.bias[r] : 0.0f;
          for (int t = t0; t < t1; ++t) {
            job.y[t * job.ldy + r] = dot_f32(wr, x + static_cast<size_t>(t) * cols, cols) + b;
          }
        }
      }
    }
  });
}

}  // namespace sgp::kernels
