// attend: one KV head's attention for its group of query heads over gathered K/V rows.
#pragma once

namespace sgp::kernels {

// out[h] = softmax(q[h] . k[p] * scale over p) . v[p] for the `group` query heads h sharing
// this KV head; q and out hold group rows of hd floats, k[p] and v[p] point to hd floats each
// (p < n, n >= 1). scores is scratch for group * n floats.
void attend(const float* q, int group, const float* const* k, const float* const* v, int n, int hd,
            float scale, float* scores, float* out);

}  // namespace sgp::kernels
