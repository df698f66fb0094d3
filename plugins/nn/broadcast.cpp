#include "broadcast.hpp"

#include <algorithm>

namespace keel::nn {

namespace {

std::string dim_str(Dim d) { return is_static(d) ? std::to_string(d) : std::string("?"); }

// Expands one axis at a time; the innermost axis is a contiguous copy or a
// fill, which is where all the time goes.
void copy_axis(const float* src, const std::vector<std::int64_t>& src_dims,
               const std::vector<std::int64_t>& src_strides, const std::vector<std::int64_t>& dst_dims,
               const std::vector<std::int64_t>& dst_strides, std::size_t axis, float* dst) {
  const std::int64_t n = dst_dims[axis];
  const bool expand = src_dims[axis] == 1;
  if (axis + 1 == dst_dims.size()) {
    if (expand)
      std::fill(dst, dst + n, *src);
    else
      std::copy(src, src + n, dst);
    return;
  }
  for (std::int64_t i = 0; i < n; ++i)
    copy_axis(src + (expand ? 0 : i * src_strides[axis]), src_dims, src_strides, dst_dims, dst_strides,
              axis + 1, dst + i * dst_strides[axis]);
}

std::vector<std::int64_t> strides_of(const std::vector<std::int64_t>& dims) {
  std::vector<std::int64_t> s(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

}  // namespace

Status broadcast_shapes(const char* op, const Shape& a, const Shape& b, Shape& out) {
  const std::size_t rank = std::max(a.size(), b.size());
  const Shape pa = pad_left(a, rank);
  const Shape pb = pad_left(b, rank);
  out.assign(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    if (pa[i] == pb[i] || pb[i] == 1) {
      out[i] = pa[i];
    } else if (pa[i] == 1) {
      out[i] = pb[i];
    } else {
      return fail(op, ": a is ", shape_str(a), " and b is ", shape_str(b), ": dimensions ", dim_str(pa[i]),
                  " and ", dim_str(pb[i]), " do not broadcast (axis ", i, " of the result)");
    }
  }
  return Status::Ok();
}

std::vector<std::int64_t> pad_left(const std::vector<std::int64_t>& dims, std::size_t rank) {
  std::vector<std::int64_t> out(rank > dims.size() ? rank - dims.size() : 0, 1);
  out.insert(out.end(), dims.begin(), dims.end());
  return out;
}

void broadcast_copy(const float* src, const std::vector<std::int64_t>& src_dims,
                    const std::vector<std::int64_t>& dst_dims, float* dst) {
  if (dst_dims.empty()) {
    *dst = *src;
    return;
  }
  for (std::int64_t d : dst_dims)
    if (d == 0) return;
  copy_axis(src, src_dims, strides_of(src_dims), dst_dims, strides_of(dst_dims), 0, dst);
}

}  // namespace keel::nn
