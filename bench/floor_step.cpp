#include "floor_step.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <new>

namespace keel::bench::raw {

namespace {

// Sum of squares in double with independent partial sums, so the loop
// vectorizes; one clone per instruction set, picked at load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) double sum_of_squares(const float* g,
                                                                                   std::int64_t n) {
  double part[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += double(g[i + j]) * double(g[i + j]);
  double sum = 0;
  for (; i < n; ++i) sum += double(g[i]) * double(g[i]);
  for (double p : part) sum += p;
  return sum;
}

// torch.optim.SGD's rule (dampening 0, not Nesterov) over one flat buffer,
// the clipping scale folded in: d = scale * g + wd * p;
// buf = first ? d : momentum * buf + d; p -= lr * buf.
__attribute__((target_clones("avx512f", "avx2", "default"))) void sgd(std::int64_t n, float* __restrict__ p,
                                                                      const float* __restrict__ g,
                                                                      float* __restrict__ buf, float scale,
                                                                      float wd, float momentum, float lr,
                                                                      bool first) {
  if (first) {
    for (std::int64_t i = 0; i < n; ++i) {
      const float d = g[i] * scale + wd * p[i];
      buf[i] = d;
      p[i] -= lr * d;
    }
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const float d = momentum * buf[i] + (g[i] * scale + wd * p[i]);
    buf[i] = d;
    p[i] -= lr * d;
  }
}

// The flat buffers' loops run over chunks of this many elements, shared
// between the OpenMP threads, as the sgd op splits its loop.
constexpr std::int64_t kChunk = 16384;

std::int64_t chunks_of(std::int64_t n) { return (n + kChunk - 1) / kChunk; }

dnnl::memory mem(const dnnl::memory::desc& md, float* p) { return dnnl::memory(md, eng(), p); }

}  // namespace

FloorStep::Buffer FloorStep::buffer(std::int64_t n) {
  const std::size_t bytes = (std::size_t(n) * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return Buffer(p);
}

FloorStep::FloorStep(const FloorConfig& config, const float* x, const std::int64_t* labels)
    : c_(config), data_x_(x), data_labels_(labels) {
  const std::int64_t n = c_.batch, d = c_.width, k = c_.classes;
  block_size_ = d * d + 3 * d;
  params_size_ = c_.blocks * block_size_ + k * d + k;
  params_ = buffer(params_size_), grads_ = buffer(params_size_), momentum_ = buffer(params_size_);
  x_ = buffer(n * d);
  labels_.assign(std::size_t(n), 0);
  for (std::int64_t b = 0; b < c_.blocks; ++b) {
    z_.push_back(buffer(n * d)), u_.push_back(buffer(n * d)), h_.push_back(buffer(n * d));
    mean_.push_back(buffer(d)), var_.push_back(buffer(d));
    running_mean_.push_back(buffer(d)), running_var_.push_back(buffer(d));
    std::fill_n(running_var_.back().get(), d, 1.0f);
  }
  logits_ = buffer(n * k), grad_logits_ = buffer(n * k), grad_h_ = buffer(n * d), grad_u_ = buffer(n * d);
  chunk_sums_.assign(std::size_t(chunks_of(params_size_)), 0.0);
  ones_ = buffer(n);
  std::fill_n(ones_.get(), n, 1.0f);
  build_primitives();
}

std::vector<FloorTensor> FloorStep::tensors() {
  std::vector<FloorTensor> t;
  const std::int64_t d = c_.width, k = c_.classes;
  for (std::int64_t b = 0; b < c_.blocks; ++b) {
    const std::string fc = "fc" + std::to_string(b + 1), bn = "bn" + std::to_string(b + 1);
    float* p = params_.get() + b * block_size_;
    t.push_back({fc + ".weight", p, d * d});
    t.push_back({fc + ".bias", p + d * d, d});
    t.push_back({bn + ".gamma", p + d * d + d, d});
    t.push_back({bn + ".beta", p + d * d + 2 * d, d});
    t.push_back({bn + ".running_mean", running_mean_[std::size_t(b)].get(), d});
    t.push_back({bn + ".running_var", running_var_[std::size_t(b)].get(), d});
  }
  float* head = params_.get() + c_.blocks * block_size_;
  t.push_back({"head.weight", head, k * d});
  t.push_back({"head.bias", head + k * d, k});
  return t;
}

void FloorStep::restart() {
  std::memset(momentum_.get(), 0, std::size_t(params_size_) * sizeof(float));
  updates_ = 0;
}

void FloorStep::build_primitives() {
  const dnnl::memory::dim n = c_.batch, d = c_.width, k = c_.classes;
  const auto x_md = plain({n, d}), w_md = plain({d, d}), b_md = plain({1, d}), ones_md = plain({1, n});
  // Wᵀ and grad_yᵀ as views of the row-major buffers, as the plugin has them.
  const dnnl::memory::desc wt_md({d, d}, f32, dims{1, d}), gyt_md({d, n}, f32, dims{1, d});
  linear_fwd_ = dnnl::matmul({{x_md, wt_md, b_md, x_md}, eng()});
  linear_gw_ = dnnl::matmul({{gyt_md, x_md, w_md}, eng()});
  linear_gb_ = dnnl::matmul({{ones_md, x_md, b_md}, eng()});
  dnnl::post_ops accumulate;
  accumulate.append_sum(1.0f);
  dnnl::primitive_attr sum_attr;
  sum_attr.set_post_ops(accumulate);
  linear_gx_sum_ = dnnl::matmul({{x_md, w_md, x_md}, sum_attr, eng()});

  using flags = dnnl::normalization_flags;
  const auto affine = flags::use_scale | flags::use_shift;
  const dnnl::memory::desc bn_md({n, d, 1, 1}, f32, tag::nhwc);  // the plugin's view of [N, C]
  const dnnl::batch_normalization_forward::primitive_desc bn_pd(
      {dnnl::prop_kind::forward_training, bn_md, c_.bn_epsilon, affine}, eng());
  bn_fwd_ = dnnl::batch_normalization_forward(bn_pd);
  bn_bwd_ = dnnl::batch_normalization_backward(
      {{dnnl::prop_kind::backward, bn_md, bn_md, c_.bn_epsilon, affine}, eng(), bn_pd});

  const auto flat_md = plain({n * d});
  const auto relu = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
  const dnnl::eltwise_forward::primitive_desc relu_pd(
      {dnnl::prop_kind::forward_training, relu, flat_md, 0.0f, 0.0f}, eng());
  relu_fwd_ = dnnl::eltwise_forward(relu_pd);
  relu_bwd_ = dnnl::eltwise_backward({{relu, flat_md, flat_md, 0.0f, 0.0f}, eng(), relu_pd});
  add_ = dnnl::binary({{dnnl::algorithm::binary_add, x_md, x_md, x_md}, eng()});

  const auto ch_md = plain({d});
  const dnnl::memory ones = mem(ones_md, ones_.get()), grad_h = mem(x_md, grad_h_.get()),
                     grad_h_flat = mem(flat_md, grad_h_.get()), grad_u = mem(x_md, grad_u_.get()),
                     grad_u_flat = mem(flat_md, grad_u_.get()), grad_u_bn = mem(bn_md, grad_u_.get()),
                     grad_ut = mem(gyt_md, grad_u_.get());
  for (std::int64_t b = 0; b < c_.blocks; ++b) {
    const auto i = std::size_t(b);
    float* p = params_.get() + b * block_size_;
    float* g = grads_.get() + b * block_size_;
    float* in_data = b == 0 ? x_.get() : h_[i - 1].get();
    const dnnl::memory in = mem(x_md, in_data), z = mem(x_md, z_[i].get()), z_bn = mem(bn_md, z_[i].get()),
                       u = mem(x_md, u_[i].get()), u_flat = mem(flat_md, u_[i].get()),
                       u_bn = mem(bn_md, u_[i].get()), h = mem(x_md, h_[i].get()),
                       gamma = mem(ch_md, p + d * d + d), beta = mem(ch_md, p + d * d + 2 * d),
                       mean = mem(ch_md, mean_[i].get()), var = mem(ch_md, var_[i].get());
    BlockArgs a;
    a.linear_fwd = {{DNNL_ARG_SRC, in},
                    {DNNL_ARG_WEIGHTS, mem(wt_md, p)},
                    {DNNL_ARG_BIAS, mem(b_md, p + d * d)},
                    {DNNL_ARG_DST, z}};
    a.bn_fwd = {{DNNL_ARG_SRC, z_bn},     {DNNL_ARG_DST, u_bn},    {DNNL_ARG_MEAN, mean},
                {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_SCALE, gamma}, {DNNL_ARG_SHIFT, beta}};
    a.relu_fwd = {{DNNL_ARG_SRC, u_flat}, {DNNL_ARG_DST, u_flat}};  // in place
    a.add = {{DNNL_ARG_SRC_0, in}, {DNNL_ARG_SRC_1, u}, {DNNL_ARG_DST, h}};
    // The residual hands grad_h to both of its inputs unchanged: relu reads
    // it as its output's gradient, and it is the skip's gradient as well.
    a.relu_bwd = {{DNNL_ARG_DST, u_flat}, {DNNL_ARG_DIFF_DST, grad_h_flat}, {DNNL_ARG_DIFF_SRC, grad_u_flat}};
    a.bn_bwd = {{DNNL_ARG_SRC, z_bn},
                {DNNL_ARG_DIFF_DST, grad_u_bn},
                {DNNL_ARG_MEAN, mean},
                {DNNL_ARG_VARIANCE, var},
                {DNNL_ARG_SCALE, gamma},
                {DNNL_ARG_SHIFT, beta},          // unused, but oneDNN 2.6 requires it (as in the plugin)
                {DNNL_ARG_DIFF_SRC, grad_u_bn},  // in place
                {DNNL_ARG_DIFF_SCALE, mem(ch_md, g + d * d + d)},
                {DNNL_ARG_DIFF_SHIFT, mem(ch_md, g + d * d + 2 * d)}};
    a.gw = {{DNNL_ARG_SRC, grad_ut}, {DNNL_ARG_WEIGHTS, in}, {DNNL_ARG_DST, mem(w_md, g)}};
    a.gb = {{DNNL_ARG_SRC, ones}, {DNNL_ARG_WEIGHTS, grad_u}, {DNNL_ARG_DST, mem(b_md, g + d * d)}};
    // grad_h (the skip's gradient) += grad_z · W: the block input's two
    // gradients summed in the matmul.
    a.gx_sum = {{DNNL_ARG_SRC, grad_u}, {DNNL_ARG_WEIGHTS, mem(w_md, p)}, {DNNL_ARG_DST, grad_h}};
    block_.push_back(std::move(a));
  }

  const auto logits_md = plain({n, k}), hw_md = plain({k, d}), hb_md = plain({1, k});
  const dnnl::memory::desc hwt_md({d, k}, f32, dims{1, d}), glt_md({k, n}, f32, dims{1, k});
  head_fwd_ = dnnl::matmul({{x_md, hwt_md, hb_md, logits_md}, eng()});
  head_gw_ = dnnl::matmul({{glt_md, x_md, hw_md}, eng()});
  head_gb_ = dnnl::matmul({{ones_md, logits_md, hb_md}, eng()});
  head_gx_ = dnnl::matmul({{logits_md, hw_md, x_md}, eng()});
  float* hp = params_.get() + c_.blocks * block_size_;
  float* hg = grads_.get() + c_.blocks * block_size_;
  const dnnl::memory last = mem(x_md, h_.back().get()), grad_logits = mem(logits_md, grad_logits_.get());
  head_.fwd = {{DNNL_ARG_SRC, last},
               {DNNL_ARG_WEIGHTS, mem(hwt_md, hp)},
               {DNNL_ARG_BIAS, mem(hb_md, hp + k * d)},
               {DNNL_ARG_DST, mem(logits_md, logits_.get())}};
  head_.gw = {{DNNL_ARG_SRC, mem(glt_md, grad_logits_.get())},
              {DNNL_ARG_WEIGHTS, last},
              {DNNL_ARG_DST, mem(hw_md, hg)}};
  head_.gb = {{DNNL_ARG_SRC, ones}, {DNNL_ARG_WEIGHTS, grad_logits}, {DNNL_ARG_DST, mem(hb_md, hg + k * d)}};
  head_.gx = {{DNNL_ARG_SRC, grad_logits}, {DNNL_ARG_WEIGHTS, mem(hw_md, hp)}, {DNNL_ARG_DST, grad_h}};
}

double FloorStep::step(const std::size_t* rows, FloorTimes* times) {
  using Part = FloorTimes::Part;
  using Clock = std::chrono::steady_clock;
  dnnl::stream& s = strm();
  auto t0 = Clock::now();
  // A part ends when its last primitive has: CPU streams run in order, and
  // wait() makes the boundary explicit.
  auto lap = [&](Part part) {
    if (!times) return;
    s.wait();
    const auto t = Clock::now();
    times->s[part] += std::chrono::duration<double>(t - t0).count();
    t0 = t;
  };
  const std::int64_t n = c_.batch, d = c_.width;

  for (std::int64_t r = 0; r < n; ++r) {
    std::memcpy(x_.get() + r * d, data_x_ + std::int64_t(rows[r]) * d, std::size_t(d) * sizeof(float));
    labels_[std::size_t(r)] = data_labels_[rows[r]];
  }
  lap(Part::gather);

  for (std::size_t i = 0; i < block_.size(); ++i) {
    linear_fwd_.execute(s, block_[i].linear_fwd);
    lap(Part::linear_forward);
    bn_fwd_.execute(s, block_[i].bn_fwd);
    s.wait();  // the running statistics read the batch's mean and variance
    update_running_statistics(i);
    lap(Part::batchnorm_forward);
    relu_fwd_.execute(s, block_[i].relu_fwd);
    lap(Part::relu_forward);
    add_.execute(s, block_[i].add);
    lap(Part::residual_forward);
  }
  head_fwd_.execute(s, head_.fwd);
  s.wait();
  lap(Part::linear_forward);
  const double loss = loss_forward_backward();
  lap(Part::loss);

  head_gw_.execute(s, head_.gw);
  head_gb_.execute(s, head_.gb);
  head_gx_.execute(s, head_.gx);
  lap(Part::linear_backward);
  for (std::size_t i = block_.size(); i-- > 0;) {
    relu_bwd_.execute(s, block_[i].relu_bwd);
    lap(Part::relu_backward);
    bn_bwd_.execute(s, block_[i].bn_bwd);
    lap(Part::batchnorm_backward);
    linear_gw_.execute(s, block_[i].gw);
    linear_gb_.execute(s, block_[i].gb);
    if (i > 0) linear_gx_sum_.execute(s, block_[i].gx_sum);  // the first block reads the graph input
    lap(Part::linear_backward);
  }
  s.wait();

  const std::int64_t chunks = chunks_of(params_size_);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c)
    chunk_sums_[std::size_t(c)] =
        sum_of_squares(grads_.get() + c * kChunk, std::min(kChunk, params_size_ - c * kChunk));
  double squares = 0;
  for (double part : chunk_sums_) squares += part;
  grad_norm_ = std::sqrt(squares);
  // torch.nn.utils.clip_grad_norm_'s factor, computed as Keel computes it.
  const double clip = c_.clip_grad_norm > 0 ? std::min(1.0, c_.clip_grad_norm / (grad_norm_ + 1e-6)) : 1.0;
  lap(Part::grad_norm);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t at = c * kChunk;
    sgd(std::min(kChunk, params_size_ - at), params_.get() + at, grads_.get() + at, momentum_.get() + at,
        float(clip), c_.weight_decay, c_.momentum, c_.lr, updates_ == 0);
  }
  ++updates_;
  lap(Part::update);
  return loss;
}

// running = (1 - m) running + m batch, with the unbiased variance, as the
// batchnorm op (and PyTorch) keeps it.
void FloorStep::update_running_statistics(std::size_t block) {
  const float m = c_.bn_momentum;
  const double unbias = double(c_.batch) / double(c_.batch - 1);
  float* rm = running_mean_[block].get();
  float* rv = running_var_[block].get();
  const float* mean = mean_[block].get();
  const float* var = var_[block].get();
  for (std::int64_t i = 0; i < c_.width; ++i) {
    rm[i] = (1.0f - m) * rm[i] + m * mean[i];
    rv[i] = (1.0f - m) * rv[i] + m * float(double(var[i]) * unbias);
  }
}

// Mean softmax cross-entropy over the batch and its gradient, in one pass.
double FloorStep::loss_forward_backward() {
  const std::int64_t n = c_.batch, k = c_.classes;
  exps_.resize(std::size_t(k));
  double total = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    const float* row = logits_.get() + r * k;
    float* grad = grad_logits_.get() + r * k;
    const std::int64_t label = labels_[std::size_t(r)];
    const double top = *std::max_element(row, row + k);
    double sum = 0;
    for (std::int64_t c = 0; c < k; ++c) sum += exps_[std::size_t(c)] = std::exp(double(row[c]) - top);
    total += top + std::log(sum) - row[label];
    for (std::int64_t c = 0; c < k; ++c)
      grad[c] = float((exps_[std::size_t(c)] / sum - (c == label ? 1.0 : 0.0)) / double(n));
  }
  return total / double(n);
}

}  // namespace keel::bench::raw
