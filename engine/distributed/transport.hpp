// What data-parallel training needs from the processes it runs in: their
// number, this one's rank, and a few collectives with a fixed reduction
// order. The only implementation is Open MPI's (mpi_transport.cpp), built
// into its own library, keel_mpi.so, which the runner loads only when it was
// started by an MPI launcher (distributed/group.hpp): a plain `keel run`
// neither links nor starts MPI.
//
// Every collective must be called by every rank in the same order. Sums
// add the ranks' values in rank order (0 + 1 + 2 ...), whatever the
// library's algorithms, so a run repeated with the same number of ranks is
// bit-identical.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::dist {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Starts summing `n` floats at `data` across ranks, in place; the buffer
  // must stay untouched until finished. Sums are started in the same order
  // on every rank. Returns a handle for poll() and finish().
  virtual int start_sum(float* data, std::size_t n) = 0;
  // Lets started sums progress without waiting; true when `handle` is done.
  virtual bool poll(int handle) = 0;
  // Waits until the sum of `handle` is complete.
  virtual void finish(int handle) = 0;

  // Blocking collectives on small data.
  virtual void sum(double* data, std::size_t n) = 0;
  virtual void max(double* data, std::size_t n) = 0;  // exact in any order
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;

  // Ends MPI at the end of a successful run (MPI_Finalize).
  virtual void shut_down() = 0;
};

// The C entry point keel_mpi.so exports: a new Transport after MPI_Init, or
// null with `error` set. The library and the runner come from one build, so
// the C++ object crossing here is safe (unlike a plugin's, keel/abi.h).
using CreateTransportFn = Transport* (*)(std::string* error);
inline constexpr const char* kCreateTransportSymbol = "keel_create_mpi_transport";

}  // namespace keel::dist
