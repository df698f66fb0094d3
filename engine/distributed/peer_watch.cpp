#include "distributed/peer_watch.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace keel::dist {

PeerWatch::PeerWatch(std::string prefix, std::vector<Peer> peers)
    : prefix_(std::move(prefix)), peers_(std::move(peers)) {
  if (!peers_.empty()) thread_ = std::thread([this] { watch(); });
}

PeerWatch::~PeerWatch() { stop(); }

void PeerWatch::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool PeerWatch::gone(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return true;
  // "pid (comm) S ...": the state follows the last ')' (comm may hold one).
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return true;
  const char state = line[paren + 2];
  return state == 'Z' || state == 'X';
}

void PeerWatch::watch() {
  using namespace std::chrono_literals;
  while (!stop_.load()) {
    for (const Peer& p : peers_) {
      if (stop_.load()) return;
      if (!gone(p.pid)) continue;
      // One line, then out at once: the collectives this rank is in or will
      // enter can never complete, and unwinding would wait in them.
      std::fprintf(stderr, "%s: error: lost rank %d (pid %ld on %s): it exited or was killed; stopping\n",
                   prefix_.c_str(), p.rank, p.pid, p.host.c_str());
      std::fflush(stderr);
      ::_exit(1);
    }
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace keel::dist
