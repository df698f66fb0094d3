// HTTP/1.1 load generator for the serving benchmark (bench/run --serve).
//
// Opens C keep-alive connections and sends the same POST on each, one
// request at a time per connection (the next one leaves when the response to
// the last has been read), until N requests have completed; W warm-up
// requests first, not timed. Latency is from the first byte written to the
// last byte read. Every response must be 200 with a JSON body holding
// outputs.head, an array of rows of numbers; with --expect, those numbers
// must match the file's within --tolerance. Anything else counts as an
// error, and so does every request a broken connection did not complete.
//
// The connections share one Asio event loop (--threads of them run it,
// default 1): on a small machine a thread per connection would take CPU
// from the server being measured.
//
// usage: serve_load --port P --body FILE [--host H] [--path PATH]
//          [--content-type T] [--concurrency C] [--requests N] [--warmup W]
//          [--expect FILE] [--tolerance X] [--threads T]
// Prints JSON: requests, ok, errors, first_error, seconds, throughput_rps,
// p50_us, p99_us, mean_us, max_us. Exit status 0 when the run completed
// (errors or not: the caller decides), 1 when it could not start, 2 for
// bad arguments.

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including
// <utility>, which C++20 mode exposes: it comes first.
// clang-format off
#include <utility>
// clang-format on

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "runtime/json_read.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1", port, path = "/v1/models/digits/infer", body_file,
              content_type = "application/json", expect_file;
  long concurrency = 1, requests = 1000, warmup = 100, threads = 1;
  double tolerance = 1e-4;
};

struct UsageError {
  std::string message;
};

long integer_at_least(const std::string& flag, const std::string& v, long min) {
  try {
    std::size_t used = 0;
    const long n = std::stol(v, &used);
    if (used == v.size() && n >= min) return n;
  } catch (const std::exception&) {
  }
  throw UsageError{flag + " " + v + ": expected an integer >= " + std::to_string(min)};
}

double non_negative_number(const std::string& flag, const std::string& v) {
  try {
    std::size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && x >= 0) return x;
  } catch (const std::exception&) {
  }
  throw UsageError{flag + " " + v + ": expected a number >= 0"};
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw UsageError{flag + ": missing value"};
    const std::string v = argv[++i];
    if (flag == "--host")
      o.host = v;
    else if (flag == "--port")
      o.port = v;
    else if (flag == "--path")
      o.path = v;
    else if (flag == "--body")
      o.body_file = v;
    else if (flag == "--content-type")
      o.content_type = v;
    else if (flag == "--expect")
      o.expect_file = v;
    else if (flag == "--concurrency")
      o.concurrency = integer_at_least(flag, v, 1);
    else if (flag == "--requests")
      o.requests = integer_at_least(flag, v, 1);
    else if (flag == "--warmup")
      o.warmup = integer_at_least(flag, v, 0);
    else if (flag == "--threads")
      o.threads = integer_at_least(flag, v, 1);
    else if (flag == "--tolerance")
      o.tolerance = non_negative_number(flag, v);
    else
      throw UsageError{"unknown option " + flag};
  }
  if (o.port.empty() || o.body_file.empty()) throw UsageError{"--port and --body are required"};
  return o;
}

std::string read_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError{file + ": cannot read"};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Rows of numbers (outputs.head of a response, or an --expect file), flattened.
bool rows_of_numbers(const keel::JsonValue& v, std::vector<double>& out, std::size_t& rows) {
  if (!v.is_array() || v.items.empty()) return false;
  out.clear();
  for (const auto& row : v.items) {
    if (!row.is_array() || row.items.empty()) return false;
    for (const auto& x : row.items) {
      if (!x.is_number()) return false;
      out.push_back(x.number);
    }
  }
  rows = v.items.size();
  return true;
}

// What every connection shares: the tickets (one per request), the tally
// and the first error's description.
struct Run {
  const Options& opt;
  tcp::endpoint endpoint;
  std::vector<double> expected;
  std::atomic<long> next{0};
  long limit = 0;  // tickets in this phase
  bool timed = false;
  std::atomic<long> ok{0}, failed{0};
  std::mutex error_mutex;
  std::string first_error;

  void error(const std::string& what) {
    failed.fetch_add(1);
    std::lock_guard<std::mutex> lock(error_mutex);
    if (first_error.empty()) first_error = what;
  }

  // Empty when the response is what the benchmark expects.
  std::string check(const http::response<http::string_body>& res) const {
    if (res.result_int() != 200)
      return "status " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200);
    try {
      const keel::JsonValue doc = keel::parse_json(res.body(), "response");
      const keel::JsonValue* outputs = doc.find("outputs");
      const keel::JsonValue* head = outputs ? outputs->find("head") : nullptr;
      std::vector<double> got;
      std::size_t rows = 0;
      if (!head || !rows_of_numbers(*head, got, rows))
        return "no outputs.head rows of numbers in the response";
      if (expected.empty()) return {};
      if (got.size() != expected.size())
        return "outputs.head has " + std::to_string(got.size()) + " numbers, expected " +
               std::to_string(expected.size());
      for (std::size_t i = 0; i < got.size(); ++i)
        if (!(std::abs(got[i] - expected[i]) <= opt.tolerance * std::max(1.0, std::abs(expected[i]))))
          return "outputs.head number " + std::to_string(i) + " is " + std::to_string(got[i]) +
                 ", expected " + std::to_string(expected[i]);
      return {};
    } catch (const keel::Error& e) {
      return e.format();
    }
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Run& run, http::request<http::string_body> req)
      : socket_(io), run_(run), req_(std::move(req)) {}

  // Synchronous: connections are opened before anything is timed.
  bool connect() {
    beast::error_code ec;
    socket_.close(ec);
    socket_.connect(run_.endpoint, ec);
    if (ec) {
      run_.error("connect: " + ec.message());
      return false;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    buffer_.clear();
    return true;
  }

  // Takes tickets until the phase has none left.
  void next() {
    if (run_.next.fetch_add(1) >= run_.limit) return;
    res_ = {};
    start_ = Clock::now();
    http::async_write(socket_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->broken("write: " + ec.message());
      http::async_read(self->socket_, self->buffer_, self->res_,
                       [self](beast::error_code ec2, std::size_t) { self->on_read(ec2); });
    });
  }

  std::vector<double> latencies_us;

 private:
  void on_read(beast::error_code ec) {
    if (ec) return broken("read: " + ec.message());
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start_).count();
    const std::string problem = run_.check(res_);
    if (problem.empty()) {
      run_.ok.fetch_add(1);
      if (run_.timed) latencies_us.push_back(us);
    } else {
      run_.error(problem);
    }
    if (!res_.keep_alive() && !connect()) return;
    next();
  }

  // The request is lost; a fresh connection takes the next one.
  void broken(const std::string& what) {
    run_.error(what);
    if (connect()) next();
  }

  tcp::socket socket_;
  Run& run_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response<http::string_body> res_;
  Clock::time_point start_;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t rank = std::size_t(std::ceil(p * double(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank ? rank - 1 : 0)];
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += char(c);
    else if (c < 0x20)
      out += ' ';
    else
      out += char(c);
  }
  return out + "\"";
}

int run_load(const Options& opt) {
  asio::io_context io;
  Run run{opt, {}, {}};
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto found = resolver.resolve(opt.host, opt.port, ec);
  if (ec || found.empty()) throw UsageError{opt.host + ":" + opt.port + ": " + ec.message()};
  run.endpoint = *found.begin();
  if (!opt.expect_file.empty()) {
    std::size_t rows = 0;
    if (!rows_of_numbers(keel::parse_json(read_file(opt.expect_file), opt.expect_file), run.expected, rows))
      throw UsageError{opt.expect_file + ": expected a JSON array of rows of numbers"};
  }

  http::request<http::string_body> req{http::verb::post, opt.path, 11};
  req.set(http::field::host, opt.host);
  req.set(http::field::content_type, opt.content_type);
  req.keep_alive(true);
  req.body() = read_file(opt.body_file);
  req.prepare_payload();

  std::vector<std::shared_ptr<Connection>> conns;
  for (long i = 0; i < opt.concurrency; ++i) {
    conns.push_back(std::make_shared<Connection>(io, run, req));
    if (!conns.back()->connect()) {
      std::fprintf(stderr, "serve_load: %s:%s: %s\n", opt.host.c_str(), opt.port.c_str(),
                   run.first_error.c_str());
      return 1;
    }
  }

  // One phase: every connection takes tickets until `count` are gone.
  auto phase = [&](long count, bool timed) {
    run.next = 0;
    run.limit = count;
    run.timed = timed;
    io.restart();
    for (auto& c : conns) asio::post(io, [c] { c->next(); });
    std::vector<std::thread> extra;
    for (long t = 1; t < opt.threads; ++t) extra.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : extra) t.join();
  };
  if (opt.warmup > 0) phase(opt.warmup, false);
  const long warm_failed = run.failed.load();
  run.ok = 0;
  run.failed = 0;
  const auto t0 = Clock::now();
  phase(opt.requests, true);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> lat;
  for (const auto& c : conns) lat.insert(lat.end(), c->latencies_us.begin(), c->latencies_us.end());
  std::sort(lat.begin(), lat.end());
  double sum = 0;
  for (const double x : lat) sum += x;
  const long ok = run.ok.load();
  // Requests no connection completed (every connection broken) are errors too.
  const long errors = opt.requests - ok;
  std::printf(
      "{\"concurrency\": %ld, \"requests\": %ld, \"warmup\": %ld, \"ok\": %ld, \"errors\": %ld, "
      "\"warmup_errors\": %ld, \"first_error\": %s, \"seconds\": %.6f, \"throughput_rps\": %.1f, "
      "\"p50_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f, \"max_us\": %.1f}\n",
      opt.concurrency, opt.requests, opt.warmup, ok, errors, warm_failed,
      json_string(run.first_error).c_str(), seconds, double(ok) / seconds, percentile(lat, 0.50),
      percentile(lat, 0.99), lat.empty() ? 0.0 : sum / double(lat.size()), lat.empty() ? 0.0 : lat.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_load(parse_args(argc, argv));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "serve_load: %s\n", e.message.c_str());
    return 2;
  } catch (const keel::Error& e) {
    std::fprintf(stderr, "serve_load: %s\n", e.format().c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_load: %s\n", e.what());
    return 1;
  }
}
