// This process's place in a data-parallel run: which rank it is among how
// many, and the Transport between them. A run is data-parallel when an MPI
// launcher started it: mpirun sets OMPI_COMM_WORLD_SIZE (PMIx launchers set
// PMIX_RANK, MPICH's PMI_SIZE). Only then is keel_mpi.so loaded and MPI
// started, so a plain `keel run` needs neither (docs/distributed.md).
#pragma once

#include <memory>
#include <string>

#include "distributed/transport.hpp"

namespace keel::dist {

class Group {
 public:
  // The group of an MPI launch, or null when no launcher started this
  // process. keel::Error (usage) when keel_mpi.so is missing or MPI cannot
  // start. Sets the log prefix to "keel[rank N]".
  static std::unique_ptr<Group> join_if_launched();

  // Whether a launcher's environment is present (no library is loaded).
  static bool launched();

  explicit Group(Transport* transport) : transport_(transport) {}

  int rank() const { return transport_->rank(); }
  int size() const { return transport_->size(); }
  // Rank 0 writes checkpoints, metrics, reports and outputs.
  bool leader() const { return rank() == 0; }
  Transport& transport() { return *transport_; }

  // After a successful run, on every rank: waits for all, then ends MPI.
  void shut_down();

 private:
  Transport* transport_;  // owned by keel_mpi.so's process-lifetime state
  bool shut_ = false;
};

}  // namespace keel::dist
