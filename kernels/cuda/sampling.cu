// Device sampling, one block per row, reproducing engine::sample_row (model::RowSample's rule).
// The row's effective logits (penalties and masks) are read through a shared-memory bitmap of
// the few tokens they change. Greedy is an arg-max. Without a top-k cut or top-p the draw walks
// the ids in order over the weights exp((x - max) / T) in double, chunk by chunk with a
// block-wide scan. With them the walk goes in (logit desc, id asc) order: each cut (the k-th
// token, the token where top_p of the weight is reached, the token where u * total falls) is
// found by a radix search on the logit's order-preserving key, 4 bits per pass, with per-bin
// counts and weights; once the tokens above the current bin number at most kCap they are copied
// to shared memory, sorted, and the remaining cuts are block-wide scans there.
// Sums run in another order than the host's, so a draw can differ from the host's only where u
// lands within rounding of a boundary between two tokens; greedy and orders are exact.
#include <algorithm>
#include <cmath>
#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/sampling.h"

namespace sgp::cuda {

namespace {

constexpr int kThreads = 512;
constexpr int kItems = 8;  // consecutive ids per thread in one scan chunk
constexpr int kChunk = kThreads * kItems;
constexpr int kCap = kThreads * kItems;  // tokens sorted in shared memory
constexpr int kBins = 16;                // 4 key bits per search pass
constexpr int kWarps = kThreads / 32;
static_assert(kWarps == kBins, "one warp reduces each bin");

// Per-thread bins (count, weight) of a search pass; the compacted keys and the sort's scratch
// reuse the same bytes.
using SortT = cub::BlockRadixSort<unsigned long long, kThreads, kItems>;
constexpr size_t kBinBytes = static_cast<size_t>(kBins) * kThreads * (sizeof(double) + 2);
constexpr size_t kCompBytes = static_cast<size_t>(kCap) * sizeof(unsigned long long);
constexpr size_t kBigBytes =
    std::max(kBinBytes, std::max(kCompBytes, sizeof(typename SortT::TempStorage)));

struct ArgMax {
  float v;
  int i;
};

struct ArgMaxOp {
  __device__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
    if (a.v > b.v) return a;
    if (b.v > a.v) return b;
    return a.i < b.i ? a : b;
  }
};

struct MaxFloat {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

struct MaxOp {
  __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};

struct MinOp {
  __device__ int operator()(int a, int b) const { return a < b ? a : b; }
};

struct MinU64 {
  __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const {
    return a < b ? a : b;
  }
};

// Order-preserving key of a logit (-0 as +0, which the host's comparisons do not tell apart).
__device__ __forceinline__ uint32_t order_key(float v) {
  const uint32_t b = __float_as_uint(v == 0.0f ? 0.0f : v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ float key_value(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// (logit desc, id asc) as one descending 64-bit key.
__device__ __forceinline__ unsigned long long composite(uint32_t key, int id) {
  return (static_cast<unsigned long long>(key) << 32) | static_cast<uint32_t>(~id);
}

__device__ __forceinline__ int composite_id(unsigned long long c) {
  return static_cast<int>(~static_cast<uint32_t>(c));
}

// The host's penalty (engine sampler.cpp), with the same roundings and no fused multiply-add.
__device__ float penalize(float v, int count, const RowDraw& d) {
  const float rep = d.repetition_penalty;
  if (rep != 1.0f && rep > 0.0f) v = v > 0.0f ? __fdiv_rn(v, rep) : __fmul_rn(v, rep);
  if (count > 0 && (d.frequency_penalty != 0.0f || d.presence_penalty != 0.0f))
    v = __fsub_rn(v, __fadd_rn(__fmul_rn(d.frequency_penalty, static_cast<float>(count)),
                               d.presence_penalty));
  return v;
}

// A filter of the sorted order: tokens up to (key, id) inclusive.
struct Cut {
  bool on = false;
  uint32_t key = 0;
  int id = 0;
  __device__ bool keeps(uint32_t k, int t) const { return !on || k > key || (k == key && t <= id); }
};

// One row: its effective logits and weights.
struct Row {
  const float* x;
  int n;
  RowDraw d;
  const TokenOverride* ov;
  const float* ov_val;
  const uint64_t* allowed;
  const uint32_t* bitmap;  // shared: tokens with an override
  float mx;                // the largest effective logit
  double inv_t;
  float min_p;  // clamped to <= 1

  __device__ bool allowed_bit(int t) const {
    const int w = t >> 6;
    return w < d.allowed_words && ((allowed[w] >> (t & 63)) & 1u);
  }

  __device__ float eff(int t) const {
    if (d.ov_count > 0 && ((bitmap[t >> 5] >> (t & 31)) & 1u)) {
      int lo = 0, hi = d.ov_count - 1;
      while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (ov[mid].token < t)
          lo = mid + 1;
        else
          hi = mid;
      }
      return ov_val[lo];
    }
    const float v = x[t];
    if (d.allowed_words > 0 && !allowed_bit(t)) return -INFINITY;
    return v;
  }

  __device__ double weight_of(float v) const {
    return exp(static_cast<double>(__fsub_rn(v, mx)) * inv_t);
  }

  // Whether t is a candidate with a key in [lo, lo + span) that min_p keeps and `a`, `b` keep;
  // its key and (if need_w or min_p applies) weight. The weight (an exp) is worked out last.
  __device__ bool member(int t, const Cut& a, const Cut& b, bool need_w, uint32_t& k, double& w,
                         uint32_t lo = 0, unsigned long long span = 1ull << 32) const {
    const float v = eff(t);
    if (v == -INFINITY) return false;
    k = order_key(v);
    if (k < lo || static_cast<unsigned long long>(k - lo) >= span) return false;
    if (!a.keeps(k, t) || !b.keeps(k, t)) return false;
    if (need_w || min_p > 0.0f) {
      w = weight_of(v);
      if (min_p > 0.0f && !(w >= static_cast<double>(min_p))) return false;
    }
    return true;
  }
};

struct Shared {
  union {
    typename cub::BlockReduce<ArgMax, kThreads>::TempStorage argmax;
    typename cub::BlockReduce<double, kThreads>::TempStorage dsum;
    typename cub::BlockReduce<int, kThreads>::TempStorage ints;
    typename cub::BlockReduce<float, kThreads>::TempStorage floats;
    typename cub::BlockReduce<unsigned long long, kThreads>::TempStorage u64;
    typename cub::BlockScan<double, kThreads>::TempStorage dscan;
    typename cub::BlockScan<int, kThreads>::TempStorage iscan;
  } tmp;
  ArgMax best;
  double d0, d1;
  int i0, i1, i2;
  int tot_cnt[kBins];
  double tot_mass[kBins];
  unsigned long long warp_top[kWarps][kMaxTopLogprobs];
  unsigned long long top[kMaxTopLogprobs];
};

// Block-wide helpers: every thread calls them, every thread gets the result.
__device__ double block_sum(Shared& sh, double v) {
  const double s = cub::BlockReduce<double, kThreads>(sh.tmp.dsum).Sum(v);
  if (threadIdx.x == 0) sh.d0 = s;
  __syncthreads();
  const double r = sh.d0;
  __syncthreads();
  return r;
}

__device__ int block_int(Shared& sh, int v, bool take_max) {
  const int s = take_max ? cub::BlockReduce<int, kThreads>(sh.tmp.ints).Reduce(v, MaxOp())
                         : cub::BlockReduce<int, kThreads>(sh.tmp.ints).Reduce(v, MinOp());
  if (threadIdx.x == 0) sh.i0 = s;
  __syncthreads();
  const int r = sh.i0;
  __syncthreads();
  return r;
}

enum class Goal { Count, MassGe, MassGt };

__device__ __forceinline__ bool reached(Goal g, double target, long long cnt, double mass) {
  switch (g) {
    case Goal::Count:
      return static_cast<double>(cnt) >= target;
    case Goal::MassGe:
      return mass >= target;
    default:
      return mass > target;
  }
}

struct Found {
  enum Kind { None, Exact, Compact } kind = None;
  Cut cut;      // Exact: the token where the goal is reached
  int n_c = 0;  // Compact: tokens in comp[], sorted
};

// Sorts the members with key >= lo (at most kCap of them) into comp[], best first.
__device__ int compact(const Row& r, const Cut& a, const Cut& b, uint32_t lo, Shared& sh,
                       unsigned long long* comp) {
  if (threadIdx.x == 0) sh.i1 = 0;
  __syncthreads();
  for (int t = threadIdx.x; t < r.n; t += kThreads) {
    uint32_t k;
    double w;
    if (r.member(t, a, b, false, k, w, lo, (1ull << 32) - lo)) {
      const int pos = atomicAdd(&sh.i1, 1);
      if (pos < kCap) comp[pos] = composite(k, t);
    }
  }
  __syncthreads();
  const int n_c = min(sh.i1, kCap);
  unsigned long long keys[kItems];
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const int idx = threadIdx.x * kItems + i;
    keys[i] = idx < n_c ? comp[idx] : 0ull;
  }
  __syncthreads();
  SortT(*reinterpret_cast<typename SortT::TempStorage*>(comp)).SortDescending(keys);
  __syncthreads();
#pragma unroll
  for (int i = 0; i < kItems; ++i) comp[threadIdx.x * kItems + i] = keys[i];
  __syncthreads();
  return n_c;
}

// The first token in (logit desc, id asc) order over the members where the running count or
// weight reaches `target`: a radix search over the key, 4 bits per pass, that stops early into
// shared memory (Compact) once the tokens at or above its bin fit there.
__device__ Found search(const Row& r, const Cut& a, const Cut& b, Goal goal, double target,
                        Shared& sh, unsigned char* big) {
  uint16_t* cnt = reinterpret_cast<uint16_t*>(big + static_cast<size_t>(kBins) * kThreads * 8);
  double* mass = reinterpret_cast<double*>(big);
  const bool need_w = goal != Goal::Count;
  const int tid = threadIdx.x;
  uint32_t lo = 0;
  long long above_cnt = 0;
  double above_mass = 0.0;
  int pick_cnt = 0;
  Found f;
  for (int shift = 28; shift >= 0; shift -= 4) {
    for (int bin = 0; bin < kBins; ++bin) {
      cnt[bin * kThreads + tid] = 0;
      mass[bin * kThreads + tid] = 0.0;
    }
    const unsigned long long span = 16ull << shift;  // keys in [lo, lo + span)
    for (int t = tid; t < r.n; t += kThreads) {
      uint32_t k;
      double w = 0.0;
      if (!r.member(t, a, b, need_w, k, w, lo, span)) continue;
      const int bin = static_cast<int>((k >> shift) & 15u);
      cnt[bin * kThreads + tid] += 1;
      if (need_w) mass[bin * kThreads + tid] += w;
    }
    __syncthreads();
    {
      const int warp = tid / 32, lane = tid % 32;
      int c = 0;
      double m = 0.0;
      for (int i = lane; i < kThreads; i += 32) {
        c += cnt[warp * kThreads + i];
        m += mass[warp * kThreads + i];
      }
      for (int o = 16; o > 0; o >>= 1) {
        c += __shfl_xor_sync(0xffffffffu, c, o);
        m += __shfl_xor_sync(0xffffffffu, m, o);
      }
      if (lane == 0) {
        sh.tot_cnt[warp] = c;
        sh.tot_mass[warp] = m;
      }
    }
    __syncthreads();
    if (tid == 0) {
      int pick = -1;
      for (int bin = kBins - 1; bin >= 0; --bin) {
        if (sh.tot_cnt[bin] == 0) continue;  // (a goal reached from the start: the first token)
        const long long c = above_cnt + sh.tot_cnt[bin];
        const double m = above_mass + sh.tot_mass[bin];
        if (reached(goal, target, c, m)) {
          pick = bin;
          break;
        }
        above_cnt = c;
        above_mass = m;
      }
      sh.i2 = pick;
      sh.d1 = above_mass;
      sh.i1 = static_cast<int>(min(above_cnt, 1ll << 30));
    }
    __syncthreads();
    const int pick = sh.i2;
    above_mass = sh.d1;
    above_cnt = sh.i1;
    if (pick < 0) return f;  // the goal is never reached
    pick_cnt = sh.tot_cnt[pick];
    lo |= static_cast<uint32_t>(pick) << shift;
    __syncthreads();
    if (above_cnt + pick_cnt <= kCap) {
      f.kind = Found::Compact;
      f.n_c = compact(r, a, b, lo, sh, reinterpret_cast<unsigned long long*>(big));
      return f;
    }
  }
  // One key, `lo`, shared by pick_cnt tokens of equal weight: the goal is reached at the j-th
  // of them in id order.
  if (tid == 0) {
    long long j = 1;
    if (goal == Goal::Count) {
      j = static_cast<long long>(target) - above_cnt;
    } else {
      const double wk = r.weight_of(key_value(lo));
      auto ok = [&](long long n) { return reached(goal, target, 0, above_mass + n * wk); };
      if (!ok(1) && wk > 0.0) {
        j = static_cast<long long>(ceil((target - above_mass) / wk));
        j = max(1ll, min(j, static_cast<long long>(pick_cnt)));
        while (j < pick_cnt && !ok(j)) ++j;
        while (j > 1 && ok(j - 1)) --j;
      }
    }
    sh.i1 = static_cast<int>(max(1ll, min(j, static_cast<long long>(pick_cnt))));
    sh.i0 = -1;
  }
  __syncthreads();
  int j = sh.i1;
  for (int base = 0; base < r.n; base += kChunk) {
    const int first = base + tid * kItems;
    int mine = 0;
    bool hit[kItems];
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      uint32_t k;
      double w;
      hit[i] = first + i < r.n && r.member(first + i, a, b, false, k, w, lo, 1);
      mine += hit[i];
    }
    int excl, total;
    cub::BlockScan<int, kThreads>(sh.tmp.iscan).ExclusiveSum(mine, excl, total);
    if (excl < j && j <= excl + mine) {
      int left = j - excl;
#pragma unroll
      for (int i = 0; i < kItems; ++i)
        if (hit[i] && --left == 0) sh.i0 = first + i;
    }
    __syncthreads();
    if (sh.i0 >= 0) break;
    j -= total;
    __syncthreads();
  }
  f.kind = Found::Exact;
  f.cut.on = true;
  f.cut.key = lo;
  f.cut.id = sh.i0;
  __syncthreads();
  return f;
}

// Over comp[0, len) (sorted, best first): the first index whose running weight reaches the
// goal, or -1; `prefix` gets the running weight through index `at` (when at >= 0).
__device__ int compact_first(const Row& r, const unsigned long long* comp, int len, Goal goal,
                             double target, int at, double* prefix, Shared& sh) {
  double w[kItems];
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const int idx = threadIdx.x * kItems + i;
    w[i] = idx < len ? r.weight_of(key_value(static_cast<uint32_t>(comp[idx] >> 32))) : 0.0;
  }
  double incl[kItems];
  cub::BlockScan<double, kThreads>(sh.tmp.dscan).InclusiveSum(w, incl);
  int first = kCap;
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const int idx = threadIdx.x * kItems + i;
    if (idx < len && first == kCap && reached(goal, target, 0, incl[i])) first = idx;
    if (idx == at) sh.d1 = incl[i];
  }
  __syncthreads();
  const int f = block_int(sh, first, false);
  if (prefix) *prefix = sh.d1;
  __syncthreads();
  return f < kCap ? f : -1;
}

// The total weight of the members `a` and `b` keep.
__device__ double member_weight(const Row& r, const Cut& a, const Cut& b, Shared& sh) {
  double part = 0.0;
  for (int t = threadIdx.x; t < r.n; t += kThreads) {
    uint32_t k;
    double w;
    if (r.member(t, a, b, true, k, w)) part += w;
  }
  return block_sum(sh, part);
}

// The draw with a top-k cut and/or top-p: cuts in (logit desc, id asc) order (see the top).
__device__ int draw_sorted(const Row& r, bool truncating, Shared& sh, unsigned char* big) {
  const RowDraw& d = r.d;
  unsigned long long* comp = reinterpret_cast<unsigned long long*>(big);
  const Cut none;
  Cut cut_k, cut_p;
  bool in_comp = false;
  int len = 0;  // compact: the kept prefix of comp[]
  // Top-k: the k-th best candidate (of those min_p keeps: it drops a suffix of the order).
  if (truncating) {
    const Found f = search(r, none, none, Goal::Count, d.top_k, sh, big);
    if (f.kind == Found::Compact) {
      in_comp = true;
      len = min(d.top_k, f.n_c);
    } else if (f.kind == Found::Exact) {
      cut_k = f.cut;
    }
  }
  double s2;
  if (in_comp) {
    double part = 0.0;
    for (int i = threadIdx.x; i < len; i += kThreads)
      part += r.weight_of(key_value(static_cast<uint32_t>(comp[i] >> 32)));
    s2 = block_sum(sh, part);
  } else {
    s2 = member_weight(r, cut_k, none, sh);
  }
  double s3 = s2;
  if (d.top_p < 1.0f) {
    const double target = static_cast<double>(d.top_p) * s2;
    if (!in_comp) {
      const Found f = search(r, cut_k, none, Goal::MassGe, target, sh, big);
      if (f.kind == Found::Compact) {
        in_comp = true;
        len = f.n_c;
      } else if (f.kind == Found::Exact) {
        cut_p = f.cut;
        s3 = member_weight(r, cut_k, cut_p, sh);
      }
    }
    if (in_comp) {
      // Not reached within comp[] only by rounding at its very end: keep it all.
      const int i = compact_first(r, comp, len, Goal::MassGe, target, -1, nullptr, sh);
      len = i >= 0 ? i + 1 : len;
      compact_first(r, comp, len, Goal::MassGe, 0.0, len - 1, &s3, sh);
    }
  }
  const double u_total = d.u * s3;
  if (!in_comp) {
    const Found f = search(r, cut_k, cut_p, Goal::MassGt, u_total, sh, big);
    if (f.kind == Found::Exact) return f.cut.id;
    if (f.kind == Found::Compact) {
      in_comp = true;
      len = f.n_c;
    } else {
      // Rounding left u * total at or past the end: the last kept token, like the host.
      unsigned long long lowest = ~0ull;
      for (int t = threadIdx.x; t < r.n; t += kThreads) {
        uint32_t k;
        double w;
        if (r.member(t, cut_k, cut_p, false, k, w)) lowest = min(lowest, composite(k, t));
      }
      lowest = cub::BlockReduce<unsigned long long, kThreads>(sh.tmp.u64).Reduce(lowest, MinU64());
      if (threadIdx.x == 0) sh.i0 = composite_id(lowest);
      __syncthreads();
      return sh.i0;
    }
  }
  const int i = compact_first(r, comp, len, Goal::MassGt, u_total, -1, nullptr, sh);
  return composite_id(comp[i >= 0 ? i : len - 1]);
}

// The draw without top-k cut or top-p: ids in order.
__device__ int draw_in_id_order(const Row& r, Shared& sh) {
  const Cut none;
  double part = 0.0;
  int last = -1;
  for (int t = threadIdx.x; t < r.n; t += kThreads) {
    uint32_t k;
    double w;
    if (r.member(t, none, none, true, k, w)) {
      part += w;
      last = t;
    }
  }
  const double total = block_sum(sh, part);
  const int last_all = block_int(sh, last, true);
  if (threadIdx.x == 0) sh.i0 = -1;
  __syncthreads();
  const double target = r.d.u * total;
  double before = 0.0;  // weight of every id before this chunk
  for (int base = 0; base < r.n; base += kChunk) {
    const int first = base + threadIdx.x * kItems;
    double w[kItems];
    double mine = 0.0;
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      uint32_t k;
      double wi = 0.0;
      w[i] = first + i < r.n && r.member(first + i, none, none, true, k, wi) ? wi : 0.0;
      mine += w[i];
    }
    double excl, chunk_total;
    cub::BlockScan<double, kThreads>(sh.tmp.dscan).ExclusiveSum(mine, excl, chunk_total);
    double rem = target - before - excl;
    if (mine > 0.0 && rem >= 0.0 && rem < mine) {
      int pick = -1;
#pragma unroll
      for (int i = 0; i < kItems; ++i) {
        if (pick < 0 && w[i] > 0.0) {
          if (rem < w[i]) pick = first + i;
          rem -= w[i];
        }
      }
      if (pick >= 0) atomicMax(&sh.i0, pick);  // one thread's range holds the target
    }
    __syncthreads();
    if (sh.i0 >= 0) break;
    before += chunk_total;
    __syncthreads();
  }
  const int chosen = sh.i0 >= 0 ? sh.i0 : last_all;
  __syncthreads();
  return chosen;
}

// The chosen token's log-probability and the top-n of the raw row's log-softmax (by logit
// desc, id asc), like engine::sample_row's.
__device__ void logprobs(const Row& r, int chosen, int n_top, Shared& sh, int draw,
                         const DrawResults& out) {
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  unsigned long long top[kMaxTopLogprobs];
  int m = 0;
  float mx = -INFINITY;
  for (int t = tid; t < r.n; t += kThreads) {
    const float v = r.x[t];
    mx = fmaxf(mx, v);
    const unsigned long long c = composite(order_key(v), t);
    if (m < n_top || c > top[n_top - 1]) {
      int i = m < n_top ? m++ : n_top - 1;
      while (i > 0 && top[i - 1] < c) {
        top[i] = top[i - 1];
        --i;
      }
      top[i] = c;
    }
  }
  mx = cub::BlockReduce<float, kThreads>(sh.tmp.floats).Reduce(mx, MaxFloat());
  if (tid == 0) sh.best.v = mx;
  __syncthreads();
  mx = sh.best.v;
  double part = 0.0;
  for (int t = tid; t < r.n; t += kThreads)
    part += exp(static_cast<double>(r.x[t]) - static_cast<double>(mx));
  const double lse = static_cast<double>(mx) + log(block_sum(sh, part));
  // Merge: each warp picks its best n_top from its lanes' lists, then warp 0 from the warps'.
  int pos = 0;
  for (int i = 0; i < n_top; ++i) {
    const unsigned long long head = pos < m ? top[pos] : 0ull;
    unsigned long long best = head;
    for (int o = 16; o > 0; o >>= 1) best = max(best, __shfl_xor_sync(0xffffffffu, best, o));
    if (head == best && best != 0ull) ++pos;
    if (lane == 0) sh.warp_top[warp][i] = best;
  }
  __syncthreads();
  if (warp == 0) {
    int p = 0;
    for (int i = 0; i < n_top; ++i) {
      const unsigned long long head = lane < kWarps && p < n_top ? sh.warp_top[lane][p] : 0ull;
      unsigned long long best = head;
      for (int o = 16; o > 0; o >>= 1) best = max(best, __shfl_xor_sync(0xffffffffu, best, o));
      if (head == best && best != 0ull) ++p;
      if (lane == 0) sh.top[i] = best;
    }
  }
  __syncthreads();
  if (tid < n_top) {
    const unsigned long long c = sh.top[tid];
    const int id = c ? composite_id(c) : -1;
    out.top_id[static_cast<size_t>(draw) * kMaxTopLogprobs + tid] = id;
    out.top_lp[static_cast<size_t>(draw) * kMaxTopLogprobs + tid] =
        id >= 0 ? static_cast<float>(static_cast<double>(r.x[id]) - lse) : -INFINITY;
  }
  if (tid == 0) out.logprob[draw] = static_cast<float>(static_cast<double>(r.x[chosen]) - lse);
}

// kFull: rows with top-k/top-p or logprobs may come (the lean form keeps greedy, temperature
// and min-p batches at their old register count).
template <bool kFull>
__global__ void __launch_bounds__(kThreads)
    sample_rows_kernel(const float* __restrict__ logits, int n_vocab,
                       const RowDraw* __restrict__ draws, const TokenOverride* __restrict__ ovs,
                       float* __restrict__ ov_vals, const uint64_t* __restrict__ allowed,
                       int bitmap_words, DrawResults out) {
  extern __shared__ __align__(16) unsigned char dyn[];
  __shared__ Shared sh;
  uint32_t* bitmap = reinterpret_cast<uint32_t*>(dyn);
  unsigned char* big = dyn + static_cast<size_t>(bitmap_words) * 4;
  const int tid = threadIdx.x;

  Row r;
  r.d = draws[blockIdx.x];
  r.x = logits + static_cast<size_t>(r.d.row) * n_vocab;
  r.n = n_vocab;
  r.ov = ovs + r.d.ov_begin;
  r.ov_val = ov_vals + r.d.ov_begin;
  r.allowed = allowed + r.d.allowed_begin;
  r.bitmap = bitmap;
  r.min_p = fminf(r.d.min_p, 1.0f);

  // The overridden tokens' values and their bitmap.
  if (r.d.ov_count > 0) {
    for (int i = tid; i < bitmap_words; i += kThreads) bitmap[i] = 0;
    __syncthreads();
    float* vals = ov_vals + r.d.ov_begin;
    for (int i = tid; i < r.d.ov_count; i += kThreads) {
      const TokenOverride o = r.ov[i];
      const float raw = r.x[o.token];
      float v = raw;
      if (o.flags & kOverridePenalty) v = penalize(v, o.count, r.d);
      if (r.d.allowed_words > 0) {
        if (o.flags & kOverrideAlsoAllowed)
          v = raw;
        else if (!r.allowed_bit(o.token))
          v = -INFINITY;
      }
      if (o.flags & kOverrideBanned) v = -INFINITY;
      vals[i] = v;
      atomicOr(&bitmap[o.token >> 5], 1u << (o.token & 31));
    }
    __syncthreads();
  }

  ArgMax best{-INFINITY, n_vocab};
  int n_cand = 0;
  for (int t = tid; t < n_vocab; t += kThreads) {
    const float v = r.eff(t);
    if (v == -INFINITY) continue;
    ++n_cand;
    if (v > best.v || (v == best.v && t < best.i)) best = {v, t};
  }
  best = cub::BlockReduce<ArgMax, kThreads>(sh.tmp.argmax).Reduce(best, ArgMaxOp());
  if (tid == 0) sh.best = best;
  __syncthreads();
  best = sh.best;
  __syncthreads();
  n_cand = cub::BlockReduce<int, kThreads>(sh.tmp.ints).Sum(n_cand);
  if (tid == 0) sh.i2 = n_cand;
  __syncthreads();
  n_cand = sh.i2;
  __syncthreads();

  int chosen = -1;
  if (best.i < n_vocab) {
    if (r.d.temperature <= 0.0f || r.d.top_k == 1) {
      chosen = best.i;
    } else {
      r.mx = best.v;
      r.inv_t = 1.0 / static_cast<double>(r.d.temperature);
      const bool truncating = r.d.top_k > 0 && r.d.top_k < n_cand;
      if constexpr (kFull)
        chosen = truncating || r.d.top_p < 1.0f ? draw_sorted(r, truncating, sh, big)
                                                : draw_in_id_order(r, sh);
      else
        chosen = draw_in_id_order(r, sh);
    }
  }
  if (tid == 0) out.token[blockIdx.x] = chosen;
  if constexpr (kFull)
    if (r.d.logprobs > 0 && chosen >= 0)
      logprobs(r, chosen, min(min(r.d.logprobs, kMaxTopLogprobs), n_vocab), sh, blockIdx.x, out);
}

__global__ void row_logprobs_kernel(const float* __restrict__ logits, int n_vocab,
                                    const RowTarget* __restrict__ targets,
                                    float* __restrict__ out) {
  using FloatReduce = cub::BlockReduce<float, kThreads>;
  using SumReduce = cub::BlockReduce<double, kThreads>;
  __shared__ union {
    typename FloatReduce::TempStorage f;
    typename SumReduce::TempStorage d;
  } tmp;
  __shared__ float mx_s;
  const RowTarget t = targets[blockIdx.x];
  const float* x = logits + static_cast<size_t>(t.row) * n_vocab;
  float mx = -INFINITY;
  for (int i = threadIdx.x; i < n_vocab; i += kThreads) mx = fmaxf(mx, x[i]);
  mx = FloatReduce(tmp.f).Reduce(mx, MaxFloat());
  if (threadIdx.x == 0) mx_s = mx;
  __syncthreads();
  mx = mx_s;
  double part = 0.0;
  for (int i = threadIdx.x; i < n_vocab; i += kThreads)
    part += exp(static_cast<double>(x[i]) - static_cast<double>(mx));
  const double sum = SumReduce(tmp.d).Sum(part);
  if (threadIdx.x == 0) {
    const double lse = static_cast<double>(mx) + log(sum);
    out[blockIdx.x] = static_cast<float>(static_cast<double>(x[t.token]) - lse);
  }
}

template <class T>
void upload(DeviceBuffer<T>& dst, const std::vector<T>& src, cudaStream_t stream) {
  if (src.empty()) return;
  dst.reserve(src.size());
  SGP_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), src.size() * sizeof(T),
                                 cudaMemcpyHostToDevice, stream));
}

}  // namespace

void DrawBatch::clear() {
  draws.clear();
  overrides.clear();
  allowed.clear();
  any_filter = false;
}

void DrawBatch::add(int row, const model::RowSample& s, int n_vocab) {
  RowDraw d;
  d.row = row;
  d.temperature = s.temperature;
  d.top_k = s.top_k;
  d.top_p = s.top_p;
  d.min_p = s.min_p;
  d.u = s.u;
  // Never more than the vocabulary: the results read back exactly this many top entries.
  d.logprobs = std::min(std::clamp(s.logprobs, 0, kMaxTopLogprobs), n_vocab);
  d.repetition_penalty = s.repetition_penalty;
  d.frequency_penalty = s.frequency_penalty;
  d.presence_penalty = s.presence_penalty;
  const bool rep = s.repetition_penalty != 1.0f && s.repetition_penalty > 0.0f;
  const bool freq = s.frequency_penalty != 0.0f || s.presence_penalty != 0.0f;
  const size_t begin = overrides.size();
  auto push = [&](int32_t t, int32_t count, uint32_t flag) {
    if (t >= 0 && t < n_vocab) overrides.push_back({t, count, flag});
  };
  if (rep || freq)
    for (const model::TokenCount& e : s.penalized)
      if (rep || e.count > 0) push(e.token, e.count, kOverridePenalty);
  if (!s.allowed.empty())
    for (int32_t t : s.also_allowed) push(t, 0, kOverrideAlsoAllowed);
  for (int32_t t : s.banned) push(t, 0, kOverrideBanned);
  std::sort(overrides.begin() + static_cast<ptrdiff_t>(begin), overrides.end(),
            [](const TokenOverride& a, const TokenOverride& b) { return a.token < b.token; });
  size_t w = begin;
  for (size_t i = begin; i < overrides.size(); ++i) {
    if (w > begin && overrides[w - 1].token == overrides[i].token) {
      overrides[w - 1].flags |= overrides[i].flags;
      overrides[w - 1].count = std::max(overrides[w - 1].count, overrides[i].count);
    } else {
      overrides[w++] = overrides[i];
    }
  }
  overrides.resize(w);
  d.ov_begin = static_cast<int>(begin);
  d.ov_count = static_cast<int>(w - begin);
  if (!s.allowed.empty()) {
    d.allowed_begin = static_cast<int>(allowed.size());
    d.allowed_words = static_cast<int>(s.allowed.size());
    allowed.insert(allowed.end(), s.allowed.begin(), s.allowed.end());
  }
  if (s.temperature > 0.0f && s.top_k != 1 && (s.top_k > 0 || s.top_p < 1.0f)) any_filter = true;
  draws.push_back(d);
}

void sample_rows(const float* logits, int n_vocab, const RowDraw* draws, int n_draws,
                 const TokenOverride* overrides, float* override_values, const uint64_t* allowed,
                 bool full, bool any_overrides, const DrawResults& out, cudaStream_t stream) {
  if (n_draws <= 0) return;
  // Rounded to 16 bytes: the scratch after the bitmap holds doubles and the sort's storage.
  const int bitmap_words = any_overrides ? ((n_vocab + 31) / 32 + 3) / 4 * 4 : 0;
  const size_t smem = static_cast<size_t>(bitmap_words) * 4 + (full ? kBigBytes : 0);
  // The opt-in above 48 KiB, raised as needed (per kernel form).
  static size_t smem_set[2] = {0, 0};
  auto kernel = full ? sample_rows_kernel<true> : sample_rows_kernel<false>;
  if (smem > smem_set[full]) {
    SGP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    smem_set[full] = smem;
  }
  kernel<<<n_draws, kThreads, smem, stream>>>(logits, n_vocab, draws, overrides, override_values,
                                              allowed, bitmap_words, out);
  SGP_CUDA_CHECK(cudaGetLastError());
}

DeviceSampler::~DeviceSampler() {
  if (h_tok_) cudaFreeHost(h_tok_);
  if (h_lp_) cudaFreeHost(h_lp_);
  if (h_top_id_) cudaFreeHost(h_top_id_);
  if (h_top_lp_) cudaFreeHost(h_top_lp_);
}

void DeviceSampler::reserve_host(size_t n) {
  if (n <= host_cap_) return;
  n = std::max(n, 2 * host_cap_);
  auto grow = [&](auto*& p, size_t count) {
    if (p) SGP_CUDA_CHECK(cudaFreeHost(p));
    p = nullptr;
    void* q = nullptr;
    SGP_CUDA_CHECK(cudaMallocHost(&q, count * sizeof(*p)));
    p = static_cast<std::remove_reference_t<decltype(p)>>(q);
  };
  grow(h_tok_, n);
  grow(h_lp_, n);
  grow(h_top_id_, n * kMaxTopLogprobs);
  grow(h_top_lp_, n * kMaxTopLogprobs);
  host_cap_ = n;
}

void DeviceSampler::launch(const float* logits, int n_vocab, const DrawBatch& batch,
                           cudaStream_t stream) {
  const size_t n = batch.draws.size();
  if (n == 0) return;
  // The pinned copies may still be read by an earlier launch's results(): callers synchronize
  // before launching again, as the forward does.
  reserve_host(n);
  upload(draws_, batch.draws, stream);
  upload(ov_, batch.overrides, stream);
  upload(allowed_, batch.allowed, stream);
  ov_val_.reserve(std::max<size_t>(batch.overrides.size(), 1));
  tok_.reserve(n);
  lp_.reserve(n);
  top_id_.reserve(n * kMaxTopLogprobs);
  top_lp_.reserve(n * kMaxTopLogprobs);
  bool any_lp = false;
  for (const RowDraw& d : batch.draws) any_lp = any_lp || d.logprobs > 0;
  DrawResults out{tok_.data(), lp_.data(), top_id_.data(), top_lp_.data()};
  sample_rows(logits, n_vocab, draws_.data(), static_cast<int>(n), ov_.data(), ov_val_.data(),
              allowed_.data(), batch.any_filter || any_lp, !batch.overrides.empty(), out, stream);
  SGP_CUDA_CHECK(
      cudaMemcpyAsync(h_tok_, tok_.data(), n * sizeof(int32_t), cudaMemcpyDeviceToHost, stream));
  if (any_lp) {
    SGP_CUDA_CHECK(
        cudaMemcpyAsync(h_lp_, lp_.data(), n * sizeof(float), cudaMemcpyDeviceToHost, stream));
    SGP_CUDA_CHECK(cudaMemcpyAsync(h_top_id_, top_id_.data(), n * kMaxTopLogprobs * sizeof(int32_t),
                                   cudaMemcpyDeviceToHost, stream));
    SGP_CUDA_CHECK(cudaMemcpyAsync(h_top_lp_, top_lp_.data(), n * kMaxTopLogprobs * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream));
  }
}

void DeviceSampler::results(const DrawBatch& batch, int n_rows, model::Logits& out) const {
  out.sampled.assign(static_cast<size_t>(n_rows), -1);
  out.sampled_logprob.clear();
  out.sampled_top.clear();
  for (size_t i = 0; i < batch.draws.size(); ++i) {
    const RowDraw& d = batch.draws[i];
    const size_t row = static_cast<size_t>(d.row);
    out.sampled[row] = h_tok_[i] >= 0 ? h_tok_[i] : model::Logits::kNoToken;
    if (d.logprobs <= 0 || h_tok_[i] < 0) continue;
    if (out.sampled_logprob.empty()) {
      out.sampled_logprob.assign(static_cast<size_t>(n_rows), std::nanf(""));
      out.sampled_top.resize(static_cast<size_t>(n_rows));
    }
    out.sampled_logprob[row] = h_lp_[i];
    auto& top = out.sampled_top[row];
    for (int j = 0; j < d.logprobs; ++j) {
      const int32_t id = h_top_id_[i * kMaxTopLogprobs + static_cast<size_t>(j)];
      if (id >= 0) top.emplace_back(id, h_top_lp_[i * kMaxTopLogprobs + static_cast<size_t>(j)]);
    }
  }
}

void row_logprobs(const float* logits, int n_vocab, const RowTarget* targets, int n_targets,
                  float* out, cudaStream_t stream) {
  if (n_targets <= 0) return;
  row_logprobs_kernel<<<n_targets, kThreads, 0, stream>>>(logits, n_vocab, targets, out);
  SGP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace sgp::cuda
