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

// Tasks are runs of 16-row units over all jobs of a call laid end to end. Each thread's first
// task is one long contiguous stretch (hardware prefetch streams it, and a matvec costs few
// claims), and the last quarter is cut into small tasks that let uneven threads even out.
constexpr int64_t kUnitRows = 16;
static_assert(kUnitRows % kPackRows == 0, "tasks must cover whole packed groups");
constexpr int kTailTasksPerThread = 2;

// Task boundaries (in units) for `units` units over `threads` threads.
void plan_tasks(int64_t units, int threads, std::vector<int64_t>& bounds) {
  bounds.assign(1, 0);
  const int64_t tail = units / 4;
  const int64_t big = (units - tail) / threads;
  int64_t at = 0;
  if (big > 0) {
    for (int t = 0; t < threads; ++t) bounds.push_back(at += big);
  }
  const int64_t step = std::max<int64_t>(1, (units - at) / (threads * kTailTasksPerThread));
  while (at < units) bounds.push_back(at = std::min(units, at + step));
}
constexpr int kTokenTile = 32;

}  // namespace

void matmul(ThreadPool& pool, MatmulScratch& scratch, const float* x, int n_tok,
            const MatmulJob* jobs, int n_jobs) {
  if (n_jobs == 0 || n_tok == 0) return;
  const int64_t cols = jobs[0].w->cols;
  bool need_act = false;
  std::vector<int64_t>& first_unit = scratch.first_unit;
  first_unit.assign(1, 0);
  for (int j = 0; j < n_jobs; ++j) {
    const WeightView& w = *jobs[j].w;
    if (w.cols != cols) throw Error("matmul: weights disagree on the input width");
    require_supported(w.type, "weight");
    need_act |= act_dot_for(w.type) != nullptr || w.packed != nullptr;
    first_unit.push_back(first_unit.back() + (w.rows + kUnitRows - 1) / kUnitRows);
  }
  const int64_t nb = cols / 32;
  if (need_act) {
    scratch.xq.resize(static_cast<size_t>(n_tok) * nb);
    for (int t = 0; t < n_tok; ++t) {
      quantize_activations(x + static_cast<size_t>(t) * cols, scratch.xq.data() + t * nb, cols);
    }
  }
  if (static_cast<int>(scratch.rows.size()) < pool.size()) scratch.rows.resize(pool.size());
  plan_tasks(first_unit.back(), pool.size(), scratch.bounds);

  // Rows [r0, r1) of one job.
  auto run = [&](const MatmulJob& job, int64_t r0, int64_t r1, int thread) {
    const WeightView& w = *job.w;
    if (w.packed != nullptr) {
      PackedDotFn dot = packed_dot_for(w.type);
      const size_t group_bytes = static_cast<size_t>(nb) * packed_block_bytes(w.type);
      for (int t0 = 0; t0 < n_tok; t0 += kTokenTile) {
        int t1 = std::min(n_tok, t0 + kTokenTile);
        dot(w.packed + r0 / kPackRows * group_bytes, (r1 - r0) / kPackRows,
            scratch.xq.data() + t0 * nb, nb, t1 - t0, job.y + t0 * job.ldy + r0, job.ldy);
        if (job.bias) {
          for (int t = t0; t < t1; ++t) {
            for (int64_t r = r0; r < r1; ++r) job.y[t * job.ldy + r] += job.bias[r];
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
    for (int64_t s0 = r0; s0 < r1; s0 += kUnitRows) {
      const int64_t s1 = std::min(r1, s0 + kUnitRows);
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
  };

  const std::vector<int64_t>& bounds = scratch.bounds;
  pool.parallel_for(static_cast<int>(bounds.size()) - 1, [&](int task, int thread) {
    const int64_t u0 = bounds[task], u1 = bounds[task + 1];
    int j = static_cast<int>(std::upper_bound(first_unit.begin(), first_unit.end(), u0) -
                             first_unit.begin()) -
            1;
    for (; j < n_jobs && first_unit[j] < u1; ++j) {
      const int64_t rows = jobs[j].w->rows;
      const int64_t r0 = (std::max(u0, first_unit[j]) - first_unit[j]) * kUnitRows;
      const int64_t r1 =
          std::min(rows, (std::min(u1, first_unit[j + 1]) - first_unit[j]) * kUnitRows);
      if (r0 < r1) run(jobs[j], r0, r1, thread);
    }
  });
}

}  // namespace sgp::kernels
