// A rank whose peer died would otherwise wait in its next collective until
// the launcher kills it (Open MPI's shared-memory transport never times
// out). PeerWatch is a thread that looks at every peer process on this
// host ten times a second and, when one is gone, says which on stderr (one
// line) and ends this process with exit code 1. Peers on other hosts cannot
// be looked at: their loss reaches this rank as an MPI error or as the
// launcher's SIGTERM (docs/distributed.md).
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace keel::dist {

struct Peer {
  int rank = 0;
  long pid = 0;
  std::string host;
};

class PeerWatch {
 public:
  // `prefix` starts the line ("keel[rank 0]"); `peers` are the ranks on
  // this host other than this one.
  PeerWatch(std::string prefix, std::vector<Peer> peers);
  ~PeerWatch();  // stops the thread
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

  // Stops watching (before a normal exit, once every rank got there).
  void stop();

  // Whether a process is gone: no /proc entry, or a zombie (a killed child
  // stays one until its parent, the launcher's daemon, reaps it).
  static bool gone(long pid);

 private:
  void watch();

  std::string prefix_;
  std::vector<Peer> peers_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace keel::dist
