// The Transport over Open MPI: the only code that includes mpi.h, built into
// keel_mpi.so (engine/CMakeLists.txt), which the runner loads on demand.
//
// A gradient sum is a reduce-scatter and an all-gather written by hand
// rather than MPI_Iallreduce, so that the order in which ranks' values are
// added is ours (rank 0, then 1, ...) and not the library's algorithm's:
// each rank owns one 1/N slice of the buffer, receives every rank's copy of
// it (MPI_Ialltoallv), adds them in rank order, and the sums are gathered
// back to every rank (MPI_Iallgatherv). Each rank sends 2(N-1)/N of the
// buffer, as a ring allreduce does.
#include <dlfcn.h>
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "distributed/peer_watch.hpp"
#include "distributed/transport.hpp"

namespace keel::dist {
namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, std::size_t(len));
}

class MpiTransport final : public Transport {
 public:
  MpiTransport() {
    int provided = 0;
    // Only the thread that runs the steps calls MPI.
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    prefix_ = "keel[rank " + std::to_string(rank_) + "]";
    // Collectives on one communicator must start in the same order on every
    // rank. Gathers start when a scatter is seen complete, which differs
    // between ranks; on their own communicators each kind keeps its order.
    for (MPI_Comm* c : {&scatter_, &gather_, &small_}) {
      check(MPI_Comm_dup(MPI_COMM_WORLD, c), "MPI_Comm_dup");
      MPI_Comm_set_errhandler(*c, MPI_ERRORS_RETURN);
    }
    start_watch();
  }

  ~MpiTransport() override = default;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  int start_sum(float* data, std::size_t n) override {
    // The k-th sum of a round reuses the k-th slot of the last round, its
    // buffers included: a step's buckets are the same every step, and
    // allocating megabytes per step costs more in page faults than the
    // exchange itself.
    if (used_ == pending_.size()) pending_.push_back(std::make_unique<Pending>());
    Pending& p = *pending_[used_];
    p.data = data;
    p.stage = Stage::scatter;
    p.finished = false;
    const int N = size_;
    p.bounds.clear();
    p.counts.clear();
    p.displs.clear();
    p.recv_counts.clear();
    p.recv_displs.clear();
    for (int j = 0; j <= N; ++j) p.bounds.push_back(n * std::size_t(j) / std::size_t(N));
    for (int j = 0; j < N; ++j) {
      p.counts.push_back(int(p.bounds[std::size_t(j + 1)] - p.bounds[std::size_t(j)]));
      p.displs.push_back(int(p.bounds[std::size_t(j)]));
    }
    const int mine = p.counts[std::size_t(rank_)];
    // Every element is received before it is read: no need to clear it.
    p.parts.resize(std::size_t(mine) * std::size_t(N));
    for (int j = 0; j < N; ++j) {
      p.recv_counts.push_back(mine);
      p.recv_displs.push_back(j * mine);
    }
    check(MPI_Ialltoallv(data, p.counts.data(), p.displs.data(), MPI_FLOAT, p.parts.data(),
                         p.recv_counts.data(), p.recv_displs.data(), MPI_FLOAT, scatter_, &p.request),
          "MPI_Ialltoallv");
    return int(used_++);
  }

  bool poll(int handle) override {
    progress();
    return pending_.at(std::size_t(handle))->stage == Stage::done;
  }

  void finish(int handle) override {
    while (!poll(handle)) sched_yield();
    pending_[std::size_t(handle)]->finished = true;
    for (std::size_t k = 0; k < used_; ++k)
      if (!pending_[k]->finished) return;
    used_ = 0;  // every sum of this round is done: handles start again at 0
  }

  void sum(double* data, std::size_t n) override {
    std::vector<double> all(n * std::size_t(size_));
    check(MPI_Allgather(data, int(n), MPI_DOUBLE, all.data(), int(n), MPI_DOUBLE, small_), "MPI_Allgather");
    for (std::size_t i = 0; i < n; ++i) {
      double s = all[i];
      for (int r = 1; r < size_; ++r) s += all[std::size_t(r) * n + i];
      data[i] = s;
    }
  }

  void max(double* data, std::size_t n) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_MAX, small_), "MPI_Allreduce");
  }

  void broadcast(void* data, std::size_t bytes, int root) override {
    check(MPI_Bcast(data, int(bytes), MPI_BYTE, root, small_), "MPI_Bcast");
  }

  void shut_down() override {
    // No rank may leave while another still watches for lost peers.
    check(MPI_Barrier(small_), "MPI_Barrier");
    if (watch_) watch_->stop();
    for (MPI_Comm* c : {&scatter_, &gather_, &small_}) MPI_Comm_free(c);
    MPI_Finalize();
  }

 private:
  enum class Stage { scatter, gather, done };
  struct Pending {
    float* data = nullptr;
    std::vector<std::size_t> bounds;
    std::vector<int> counts, displs, recv_counts, recv_displs;
    std::vector<float> parts;  // every rank's copy of this rank's slice
    MPI_Request request = MPI_REQUEST_NULL;
    Stage stage = Stage::scatter;
    bool finished = false;
  };

  // Advances the sums in the order they were started, so that gathers
  // start in that order too.
  void progress() {
    for (std::size_t k = 0; k < used_; ++k) {
      Pending* p = pending_[k].get();
      if (p->stage == Stage::done) continue;
      int flag = 0;
      check(MPI_Test(&p->request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
      if (!flag) return;
      if (p->stage == Stage::gather) {
        p->stage = Stage::done;
        continue;
      }
      reduce_slice(*p);
      check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, p->data, p->counts.data(), p->displs.data(),
                            MPI_FLOAT, gather_, &p->request),
            "MPI_Iallgatherv");
      p->stage = Stage::gather;
    }
  }

  // This rank's slice: every rank's values added in rank order.
  void reduce_slice(Pending& p) const {
    const std::size_t mine = std::size_t(p.counts[std::size_t(rank_)]);
    float* out = p.data + p.bounds[std::size_t(rank_)];
    for (std::size_t k = 0; k < mine; ++k) {
      float s = p.parts[k];
      for (int r = 1; r < size_; ++r) s += p.parts[std::size_t(r) * mine + k];
      out[k] = s;
    }
  }

  // Every peer's pid and host, so that PeerWatch can tell a lost one.
  void start_watch() {
    char host[MPI_MAX_PROCESSOR_NAME] = {};
    int len = 0;
    MPI_Get_processor_name(host, &len);
    const long pid = long(::getpid());
    std::vector<long> pids(static_cast<std::size_t>(size_));
    std::vector<char> hosts(static_cast<std::size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
    check(MPI_Allgather(&pid, 1, MPI_LONG, pids.data(), 1, MPI_LONG, small_), "MPI_Allgather");
    check(MPI_Allgather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts.data(), MPI_MAX_PROCESSOR_NAME,
                        MPI_CHAR, small_),
          "MPI_Allgather");
    std::vector<Peer> peers;
    for (int r = 0; r < size_; ++r) {
      const std::string h(&hosts[std::size_t(r) * MPI_MAX_PROCESSOR_NAME]);
      if (r != rank_ && h == host) peers.push_back({r, pids[std::size_t(r)], h});
    }
    watch_ = std::make_unique<PeerWatch>(prefix_, std::move(peers));
  }

  // A failed call means a peer is gone or the network broke: nothing this
  // rank computes can be used any more, and unwinding could wait forever
  // in MPI, so it says so in one line and leaves.
  void check(int code, const char* call) const {
    if (code == MPI_SUCCESS) return;
    std::fprintf(stderr, "%s: error: %s failed: %s (another rank was lost or the network failed); stopping\n",
                 prefix_.empty() ? "keel" : prefix_.c_str(), call, mpi_error_text(code).c_str());
    std::fflush(stderr);
    ::_exit(1);
  }

  int rank_ = 0, size_ = 1;
  std::string prefix_;
  MPI_Comm scatter_ = MPI_COMM_NULL, gather_ = MPI_COMM_NULL, small_ = MPI_COMM_NULL;
  std::vector<std::unique_ptr<Pending>> pending_;  // slots, kept across rounds
  std::size_t used_ = 0;                           // slots of the round in progress
  std::unique_ptr<PeerWatch> watch_;
};

}  // namespace
}  // namespace keel::dist

extern "C" __attribute__((visibility("default"))) keel::dist::Transport* keel_create_mpi_transport(
    std::string* error) {
  try {
    // Open MPI loads its components with dlopen, and they need libmpi's
    // symbols: the runner loaded this library (and libmpi with it) locally,
    // so libmpi is made global first, as Python's mpi4py does.
    if (!dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD))
      dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL);
    return new keel::dist::MpiTransport();
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}
