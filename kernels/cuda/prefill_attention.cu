// Flash attention for prefill chunks with mma.sync (m16n8k16 bf16): S = Q·Kᵀ and O += P·V on
// tensor cores, the online softmax in registers (the S accumulator layout is reused as the A
// operand of P·V), K and Vᵀ tiles of 64 keys gathered from the KV pages into shared memory.
#include <climits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/prefill_attention.h"

namespace sgp::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kRows = 64;  // query rows per block: 4 warps x 16
constexpr int kKeys = 64;  // keys per tile
constexpr int kPad = 8;    // bf16 padding per shared row: rows land on distinct banks

__device__ inline void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Four 8x8 bf16 matrices from shared memory; lane l names row l % 8 of matrix l / 8.
__device__ inline void ldsm_x4(uint32_t (&r)[4], const bf16* p) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// The same, transposed: serves V stored [key][dim] as the k-major B operand of P·V.
__device__ inline void ldsm_x4_trans(uint32_t (&r)[4], const bf16* p) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// 16 bytes global -> shared without passing through registers; src_bytes 0 writes zeros.
__device__ inline void cp_async16(bf16* dst, const bf16* src, int src_bytes) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(addr), "l"(src),
               "r"(src_bytes));
}
__device__ inline void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ inline void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ inline uint32_t pack(float lo, float hi) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

template <int D>
__global__ void __launch_bounds__(128)
    prefill_kernel(PrefillAttention a, int group, int gp_log2, float scale_log2) {
  // Two stages of K and V tiles (dynamic shared memory): the next tile streams in with
  // cp.async while the tensor cores work on this one.
  constexpr int kStride = D + kPad;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* const ks_all = reinterpret_cast<bf16*>(smem_raw);
  bf16* const vs_all = ks_all + 2 * kKeys * kStride;
  const int seq = a.tiles[3 * blockIdx.x], t0 = a.tiles[3 * blockIdx.x + 1],
            n = a.tiles[3 * blockIdx.x + 2];
  const int kvh = blockIdx.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, tq = lane & 3;
  const int gp = 1 << gp_log2;
  const int* pages = a.meta.pages + a.meta.seq_page_off[seq];
  const int ps = a.layout.page_size;

  // The two rows this lane owns in the mma layout, and their query positions.
  int row_tok[2], row_head[2], row_pos[2];
  bool row_ok[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = warp * 16 + g + 8 * h;
    const int ti = r >> gp_log2, hi = r & (gp - 1);
    row_ok[h] = ti < n && hi < group;
    row_tok[h] = t0 + min(ti, n - 1);
    row_head[h] = kvh * group + min(hi, group - 1);
    row_pos[h] = row_ok[h] ? a.meta.tok_pos[row_tok[h]] : INT_MAX;
  }
  const int kend = a.meta.tok_pos[t0 + n - 1] + 1;

  uint32_t qa[D / 16][4];
#pragma unroll
  for (int k = 0; k < D / 16; ++k) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const bf16* qr = a.q + (static_cast<size_t>(row_tok[h]) * a.n_head + row_head[h]) * D;
      qa[k][h] = row_ok[h] ? *reinterpret_cast<const uint32_t*>(qr + k * 16 + tq * 2) : 0u;
      qa[k][h + 2] = row_ok[h] ? *reinterpret_cast<const uint32_t*>(qr + k * 16 + 8 + tq * 2) : 0u;
    }
  }
  float o[D / 8][4];
#pragma unroll
  for (int d = 0; d < D / 8; ++d) o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  auto load_tile = [&](int kt, int buf) {
    for (int idx = threadIdx.x; idx < kKeys * (D / 8); idx += blockDim.x) {
      const int key = idx / (D / 8), c = idx % (D / 8);
      const int j = kt + key;
      const bool ok = j < kend;
      const bf16* p = ok ? a.kv + pages[j / ps] * a.layout.page_elems() +
                               kvh * a.layout.head_elems() + static_cast<size_t>(j % ps) * D + c * 8
                         : a.kv;
      cp_async16(ks_all + (buf * kKeys + key) * kStride + c * 8, p, ok ? 16 : 0);
      cp_async16(vs_all + (buf * kKeys + key) * kStride + c * 8,
                 ok ? p + a.layout.kv_elems() : a.kv, ok ? 16 : 0);
    }
    cp_async_commit();
  };
  load_tile(0, 0);
  for (int kt = 0, buf = 0; kt < kend; kt += kKeys, buf ^= 1) {
    if (kt + kKeys < kend) {
      load_tile(kt + kKeys, buf ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();  // this tile has landed for every thread
    const bf16* ks = ks_all + buf * kKeys * kStride;
    const bf16* vs = vs_all + buf * kKeys * kStride;

    float s[kKeys / 8][4];
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
    // ldmatrix lane roles: matrix mi = lane / 8 (key half of an n-tile pair, dim half of a
    // k-step), row lane % 8.
    const int mi = lane >> 3, mr = lane & 7;
#pragma unroll
    for (int k = 0; k < D / 16; ++k) {
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; nt += 2) {
        uint32_t b[4];  // b0, b1 of n-tile nt, then of nt + 1
        ldsm_x4(b, ks + ((nt + (mi >> 1)) * 8 + mr) * kStride + k * 16 + (mi & 1) * 8);
        mma16816(s[nt], qa[k], b[0], b[1]);
        mma16816(s[nt + 1], qa[k], b[2], b[3]);
      }
    }
    // Causal mask, scale, online softmax per row (4 lanes share a row).
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = kt + nt * 8 + tq * 2 + (e & 1);
        const int h = e >> 1;
        const float v = (key <= row_pos[h] && key < kend) ? s[nt][e] * scale_log2 : -INFINITY;
        s[nt][e] = v;
        mx[h] = fmaxf(mx[h], v);
      }
    }
    float c[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
      const float mn = fmaxf(m[h], mx[h]);
      c[h] = mn == -INFINITY ? 1.f : exp2f(m[h] - mn);
      m[h] = mn;
    }
    float rs[2] = {0.f, 0.f};
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int h = e >> 1;
        const float p = m[h] == -INFINITY ? 0.f : exp2f(s[nt][e] - m[h]);
        s[nt][e] = p;
        rs[h] += p;
      }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) l[h] = l[h] * c[h] + rs[h];
#pragma unroll
    for (int d = 0; d < D / 8; ++d) {
      o[d][0] *= c[0];
      o[d][1] *= c[0];
      o[d][2] *= c[1];
      o[d][3] *= c[1];
    }
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      const uint32_t pa[4] = {pack(s[2 * kk][0], s[2 * kk][1]), pack(s[2 * kk][2], s[2 * kk][3]),
                              pack(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int d = 0; d < D / 8; d += 2) {
        // Transposed: rows are keys kk*16 + (mi & 1)*8 + mr, columns dims of d-tile d + mi / 2.
        uint32_t b[4];
        ldsm_x4_trans(b, vs + (kk * 16 + (mi & 1) * 8 + mr) * kStride + (d + (mi >> 1)) * 8);
        mma16816(o[d], pa, b[0], b[1]);
        mma16816(o[d + 1], pa, b[2], b[3]);
      }
    }
    __syncthreads();  // every warp is done with this buffer before it is refilled
  }

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if (!row_ok[h]) continue;
    const float inv = 1.f / l[h];
    bf16* out = a.out + (static_cast<size_t>(row_tok[h]) * a.n_head + row_head[h]) * D;
#pragma unroll
    for (int d = 0; d < D / 8; ++d)
      *reinterpret_cast<__nv_bfloat162*>(out + d * 8 + tq * 2) =
          __floats2bfloat162_rn(o[d][2 * h] * inv, o[d][2 * h + 1] * inv);
  }
}

template <int D>
void launch(const PrefillAttention& a, dim3 grid, int group, int gl, float scale_log2,
            cudaStream_t stream) {
  constexpr int kSmem = 2 * 2 * kKeys * (D + kPad) * static_cast<int>(sizeof(bf16));
  static bool configured = false;  // the attribute is per kernel and process
  if (!configured) {
    SGP_CUDA_CHECK(cudaFuncSetAttribute(prefill_kernel<D>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    configured = true;
  }
  prefill_kernel<D><<<grid, 128, kSmem, stream>>>(a, group, gl, scale_log2);
}

int padded_group_log2(int group) {
  int l = 0;
  while ((1 << l) < group) ++l;
  return l;
}

}  // namespace

bool prefill_attention_supported(int head_dim, int group) {
  return (head_dim == 64 || head_dim == 128) && group >= 1 && group <= 8;
}

int prefill_tile_tokens(int group) {
  return kRows >> padded_group_log2(group);
}

void prefill_attention(const PrefillAttention& a, cudaStream_t stream) {
  if (a.n_tiles == 0) return;
  const int group = a.n_head / a.layout.n_head_kv;
  if (!prefill_attention_supported(a.layout.head_dim, group))
    throw Error("prefill attention: unsupported head_dim or group size");
  const dim3 grid(a.n_tiles, a.layout.n_head_kv);
  const float scale_log2 = 1.4426950408889634f / sqrtf(static_cast<float>(a.layout.head_dim));
  const int gl = padded_group_log2(group);
  if (a.layout.head_dim == 64)
    launch<64>(a, grid, group, gl, scale_log2, stream);
  else
    launch<128>(a, grid, group, gl, scale_log2, stream);
  SGP_CUDA_CHECK_LAUNCH();
}

}  // namespace sgp::cuda
