// `keel serve`'s HTTP/1.1 server (Boost.Beast on Asio): routes, limits,
// timeouts, graceful shutdown. Each model has a Batcher; requests are
// decoded and checked on the I/O threads, run on the model's worker, and
// answered on the I/O threads. Only this file and its .cpp see Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "serve/served_model.hpp"

namespace keel::serve {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";   // ADDRESS:PORT; port 0 picks a free one
  std::int64_t max_batch = 1;              // rows per run (1: no batching)
  std::chrono::microseconds max_delay{0};  // how long a run waits for more requests
  std::size_t max_body_bytes = std::size_t{16} << 20;
  std::size_t max_header_bytes = std::size_t{16} << 10;
  int max_connections = 256;
  // A whole request, headers and body, must arrive within this; so must the
  // next request on a kept-alive connection. A slow client is cut off.
  std::chrono::milliseconds read_timeout{10000};
  // From a request's last byte to its answer (queueing included).
  std::chrono::milliseconds request_timeout{10000};
  int io_threads = 1;
  bool quiet = false;
};

// Listens, prints "listening on ADDRESS:PORT" (unless quiet) and serves
// until SIGTERM or SIGINT; then stops accepting, answers what is in flight,
// closes every connection and returns 0. keel::Error (usage) when the
// address cannot be parsed or bound.
int serve(std::vector<std::unique_ptr<ServedModel>> models, const ServeOptions& options);

}  // namespace keel::serve
