// The serving benchmark's floor: an HTTP/1.1 server that runs no model and
// answers every POST with the same stored response (Boost.Beast, blocking,
// one thread per keep-alive connection). Its latency through serve_load is
// what the loopback, the kernel and the load generator cost per request on
// this machine, and its throughput the most any server can reach here with
// the load generator beside it; `keel serve` is read against both.
//
// usage: serve_floor --response FILE --listen HOST:PORT
// Prints "listening on HOST:PORT" when ready; GET /healthz answers ok.
// SIGTERM ends it.

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including
// <utility>, which C++20 mode exposes: it comes first.
// clang-format off
#include <utility>
// clang-format on

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

void serve_connection(tcp::socket socket, const std::string& body) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;  // the client closed, or sent something broken
    http::response<http::string_body> res{http::status::ok, req.version()};
    const bool health = req.method() == http::verb::get && req.target() == "/healthz";
    res.set(http::field::content_type, health ? "text/plain" : "application/json");
    res.body() = health ? "ok" : body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || !req.keep_alive()) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string response_file, listen;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--response")
      response_file = argv[i + 1];
    else if (flag == "--listen")
      listen = argv[i + 1];
  }
  const auto colon = listen.rfind(':');
  if (response_file.empty() || colon == std::string::npos) {
    std::fprintf(stderr, "usage: serve_floor --response FILE --listen HOST:PORT\n");
    return 2;
  }
  std::ifstream in(response_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "serve_floor: %s: cannot read\n", response_file.c_str());
    return 2;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  try {
    asio::io_context io;
    const auto host = asio::ip::make_address(listen.substr(0, colon));
    tcp::acceptor acceptor(io, {host, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))});
    std::printf("listening on %s:%u\n", host.to_string().c_str(), unsigned(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    for (;;) std::thread(serve_connection, acceptor.accept(), std::cref(body)).detach();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_floor: %s: %s\n", listen.c_str(), e.what());
    return 1;
  }
}
