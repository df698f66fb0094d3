#include "serve/http_server.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/error.hpp"
#include "base/json.hpp"
#include "runtime/npy.hpp"
#include "serve/batcher.hpp"
#include "serve/metrics.hpp"
#include "serve/wire_format.hpp"

namespace keel::serve {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr const char* kJson = "application/json";
constexpr const char* kNpy = "application/x-npy";

struct Model {
  std::unique_ptr<ServedModel> model;
  std::unique_ptr<Batcher> batcher;
};

class Session;

// What every session shares.
struct State {
  ServeOptions options;
  std::map<std::string, Model> models;
  Metrics metrics;
  std::atomic<int> connections{0};
  std::atomic<bool> draining{false};
  net::io_context* ioc = nullptr;
  std::mutex sessions_mutex;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
};

// The media type of a Content-Type or Accept item, lower-cased, without
// parameters.
std::string media_type(std::string_view v) {
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether an Accept header admits `type` (absent, */* and application/* do).
bool accepts(std::string_view accept, std::string_view type) {
  if (accept.empty()) return type == kJson;
  std::size_t at = 0;
  while (at <= accept.size()) {
    const std::size_t comma = accept.find(',', at);
    const std::string item =
        media_type(accept.substr(at, comma == std::string_view::npos ? accept.npos : comma - at));
    if (item == type || item == "*/*" || item == "application/*") return true;
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return false;
}

std::string models_json(const State& s) {
  std::string out = "{\"models\":[";
  bool first = true;
  for (const auto& [name, m] : s.models) {
    const ValidatedGraph& g = m.model->graph();
    const Plan& plan = m.model->plan();  // the inputs' declared types
    out += std::string(first ? "" : ",") + "{\"name\":" + json_quote(name) +
           ",\"graph\":" + json_quote(g.def.name) + ",\"inputs\":[";
    first = false;
    for (std::size_t i = 0; i < g.def.inputs.size(); ++i)
      out += std::string(i ? "," : "") + "{\"name\":" + json_quote(g.def.inputs[i].name) +
             ",\"type\":" + json_quote(plan.describe(g.input_specs[i])) + "}";
    out += "],\"outputs\":[";
    for (std::size_t i = 0; i < g.def.outputs.size(); ++i)
      out += std::string(i ? "," : "") + "{\"name\":" + json_quote(g.def.outputs[i].text()) +
             ",\"type\":" + json_quote(m.model->output_types()[i]) + "}";
    out += "],\"plugins\":[";
    std::set<std::string> seen;
    for (const auto& n : g.nodes) {
      const auto& p = *n.entry->plugin;
      if (!seen.insert(p.name).second) continue;
      out += std::string(seen.size() > 1 ? "," : "") + "{\"name\":" + json_quote(p.name) +
             ",\"version\":" + json_quote(p.version) + "}";
    }
    out += "],\"batching\":" + std::string(m.model->batchable() ? "true" : "false") + "}";
  }
  return out + "]}";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, State& state) : stream_(std::move(socket)), state_(state) {}
  ~Session() { --state_.connections; }

  void start(bool refuse) {
    if (refuse) {
      state_.metrics.connection_refused();
      close_after_ = true;
      send(error(http::status::service_unavailable, "too many connections; try again later", 11), "");
      return;
    }
    read();
  }

  // Closes the connection if it is waiting for a request (graceful shutdown).
  // A connection counts as idle only if no byte of a next request has
  // arrived, read or not: a request the client finished sending before the
  // signal is answered, even if the server had not read it yet.
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      const std::size_t pending = self->stream_.socket().available(ec);
      if (!self->busy_ && self->buffer_.size() == 0 && (pending == 0 || ec)) {
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  void read() {
    busy_ = false;
    parser_.emplace();
    parser_->body_limit(state_.options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(state_.options.max_header_bytes));
    stream_.expires_after(state_.options.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    busy_ = true;
    // A client that waits for "100 Continue" before its body (curl does,
    // for large bodies) gets it once the headers are acceptable.
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
                          if (wec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->stream_.expires_never();
                       self->received_ = Clock::now();
                       self->handle(self->parser_->release());
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset)
      return close();
    close_after_ = true;
    if (ec == beast::error::timeout) {
      // Nothing sent: an idle kept-alive connection, closed quietly.
      if (!busy_ && buffer_.size() == 0) return close();
      return send(
          error(http::status::request_timeout, "the request did not arrive within the read timeout", 11), "");
    }
    if (ec == http::error::body_limit)
      return send(
          error(http::status::payload_too_large,
                "the body exceeds the limit of " + std::to_string(state_.options.max_body_bytes) + " bytes",
                11),
          "");
    if (ec == http::error::header_limit)
      return send(error(http::status::request_header_fields_too_large,
                        "the headers exceed the limit of " + std::to_string(state_.options.max_header_bytes) +
                            " bytes",
                        11),
                  "");
    send(error(http::status::bad_request, "malformed HTTP request: " + ec.message(), 11), "");
  }

  Response error(http::status status, const std::string& message, unsigned version) {
    Response res{status, version};
    res.set(http::field::content_type, kJson);
    res.body() = error_json(message) + "\n";
    return res;
  }

  Response text(http::status status, std::string body, const char* type, unsigned version) {
    Response res{status, version};
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    return res;
  }

  void handle(Request req) {
    keep_alive_ = req.keep_alive() && !state_.draining;
    const unsigned v = req.version();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const std::string query =
        target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    auto only = [&](http::verb verb, const char* allow) {
      if (req.method() == verb) return true;
      Response res = error(http::status::method_not_allowed,
                           "method " + std::string(req.method_string()) + " is not allowed on " + path, v);
      res.set(http::field::allow, allow);
      send(std::move(res), "");
      return false;
    };
    if (path == "/healthz") {
      if (!only(http::verb::get, "GET")) return;
      if (state_.draining)
        return send(text(http::status::service_unavailable, "draining\n", "text/plain", v), "");
      return send(text(http::status::ok, "ok\n", "text/plain", v), "");
    }
    if (path == "/metrics") {
      if (!only(http::verb::get, "GET")) return;
      return send(text(http::status::ok, state_.metrics.text(), "text/plain; version=0.0.4", v), "");
    }
    if (path == "/v1/models") {
      if (!only(http::verb::get, "GET")) return;
      return send(text(http::status::ok, models_json(state_) + "\n", kJson, v), "");
    }
    static constexpr std::string_view prefix = "/v1/models/", suffix = "/infer";
    if (path.size() > prefix.size() + suffix.size() && path.rfind(prefix, 0) == 0 && path.ends_with(suffix)) {
      const std::string name = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
      if (!only(http::verb::post, "POST")) return;
      return infer(name, query, std::move(req));
    }
    send(error(http::status::not_found, "no such endpoint: " + printable(path, 200), v), "");
  }

  void infer(const std::string& name, const std::string& query, Request req) {
    const unsigned v = req.version();
    auto it = state_.models.find(name);
    if (it == state_.models.end()) {
      std::string names;
      for (const auto& m : state_.models) names += (names.empty() ? "" : ", ") + m.first;
      return send(error(http::status::not_found,
                        "unknown model '" + printable(name) + "' (models: " + names + ")", v),
                  "");
    }
    Model& m = it->second;
    model_ = name;
    const std::string type = media_type(std::string(req[http::field::content_type]));
    if (type != kJson && type != kNpy) {
      state_.metrics.rejected(name, "unsupported_media_type");
      return send(error(http::status::unsupported_media_type,
                        "Content-Type '" + printable(type) + "' is not supported (send application/json or " +
                            kNpy + ")",
                        v),
                  name);
    }
    const std::string accept(req[http::field::accept]);
    npy_answer_ = !accepts(accept, kJson) && accepts(accept, kNpy);
    if (!npy_answer_ && !accepts(accept, kJson))
      return send(error(http::status::not_acceptable, "answers are application/json or application/x-npy", v),
                  name);
    output_ = 0;
    if (npy_answer_) {
      const auto& outs = m.model->graph().def.outputs;
      std::string want;
      if (query.rfind("output=", 0) == 0) want = query.substr(7);
      if (want.empty() && outs.size() != 1)
        return send(error(http::status::bad_request,
                          "a .npy answer holds one output, and this model has " +
                              std::to_string(outs.size()) + ": choose one with ?output=NAME",
                          v),
                    name);
      if (!want.empty()) {
        auto o = std::find_if(outs.begin(), outs.end(), [&](const ValueRef& r) { return r.text() == want; });
        if (o == outs.end())
          return send(
              error(http::status::bad_request, "the model has no output '" + printable(want) + "'", v), name);
        output_ = std::size_t(o - outs.begin());
      }
    }
    Job job;
    try {
      job.inputs = type == kJson ? inputs_from_json(req.body(), m.model->graph())
                                 : inputs_from_npy(req.body(), m.model->graph());
      m.model->check(job.inputs);
    } catch (const Error& e) {
      state_.metrics.rejected(name, "bad_request");
      return send(error(http::status::bad_request, e.format(), v), name);
    }
    job.rows = job.inputs.front().shape().empty() ? 1 : job.inputs.front().shape()[0];
    job.deadline = received_ + state_.options.request_timeout;
    version_ = v;
    // From the model's worker the answer is posted back to this session;
    // run inline (no batching), dispatch answers at once, on this thread.
    // A queued job has no socket operation outstanding: this keeps the I/O
    // loop running (through a shutdown, too) until its answer is handed back.
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        state_.ioc->get_executor());
    job.done = [self = shared_from_this(), work](JobResult r) {
      net::dispatch(self->stream_.get_executor(),
                    [self, r = std::make_shared<JobResult>(std::move(r))] { self->answer(std::move(*r)); });
      work->reset();
    };
    m.batcher->submit(std::move(job));
  }

  void answer(JobResult r) {
    const Model& m = state_.models.at(model_);
    for (const GuardFlag& f : r.flags) state_.metrics.guard_event(model_, f.guard);
    switch (r.status) {
      case JobResult::Status::ok:
        break;
      case JobResult::Status::rejected: {
        state_.metrics.rejected(model_, "guard");
        Response res =
            text(http::status::unprocessable_entity,
                 "{\"error\":" + json_quote(r.message) + ",\"guards\":" + guards_json(r.flags) + "}\n", kJson,
                 version_);
        return send(std::move(res), model_);
      }
      case JobResult::Status::expired:
        state_.metrics.rejected(model_, "deadline");
        return send(error(http::status::service_unavailable, r.message, version_), model_);
      case JobResult::Status::failed:
        state_.metrics.rejected(model_, "failed");
        return send(error(http::status::internal_server_error, r.message, version_), model_);
    }
    if (npy_answer_) {
      Response res = text(http::status::ok, encode_npy(r.outputs[output_]), kNpy, version_);
      res.set("Keel-Guards", guards_json(r.flags));
      return send(std::move(res), model_);
    }
    send(text(http::status::ok, result_json(model_, m.model->graph(), r) + "\n", kJson, version_), model_);
  }

  // Writes `res`; `model` names the model for the metrics (empty: none).
  void send(Response res, const std::string& model) {
    if (close_after_ || state_.draining) keep_alive_ = false;
    res.keep_alive(keep_alive_);
    res.set(http::field::server, "keel");
    res.prepare_payload();
    const double seconds = received_ == Clock::time_point{}
                               ? 0
                               : std::chrono::duration<double>(Clock::now() - received_).count();
    state_.metrics.request(model, res.result_int(), seconds);
    received_ = {};
    auto held = std::make_shared<Response>(std::move(res));
    stream_.expires_after(state_.options.read_timeout);  // a client that does not read is cut off too
    http::async_write(stream_, *held, [self = shared_from_this(), held](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  State& state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool npy_answer_ = false;
  std::size_t output_ = 0;
  unsigned version_ = 11;
  std::string model_;
  Clock::time_point received_{};
};

tcp::endpoint parse_endpoint(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
    throw usage_error("--listen '" + printable(listen) + "': expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec)
    throw usage_error("--listen '" + printable(listen) + "': '" + printable(host) + "' is not an IP address");
  unsigned port = 0;
  const std::string p = listen.substr(colon + 1);
  if (p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5 ||
      (port = unsigned(std::stoul(p))) > 65535)
    throw usage_error("--listen '" + printable(listen) + "': the port must be a number from 0 to 65535");
  return {address, static_cast<unsigned short>(port)};
}

void accept_loop(tcp::acceptor& acceptor, net::io_context& ioc, State& state) {
  acceptor.async_accept(net::make_strand(ioc),
                        [&acceptor, &ioc, &state](beast::error_code ec, tcp::socket socket) {
                          if (ec) {
                            if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
                            // Out of descriptors and the like: try again, the server is not done.
                            return accept_loop(acceptor, ioc, state);
                          }
                          // Answers go out at once: Nagle's algorithm would hold a small answer
                          // back until the client acknowledges the previous one.
                          beast::error_code nec;
                          socket.set_option(tcp::no_delay(true), nec);
                          const bool refuse = ++state.connections > state.options.max_connections;
                          auto session = std::make_shared<Session>(std::move(socket), state);
                          {
                            std::lock_guard<std::mutex> lock(state.sessions_mutex);
                            for (auto it = state.sessions.begin(); it != state.sessions.end();)
                              it = it->expired() ? state.sessions.erase(it) : std::next(it);
                            state.sessions.insert(session);
                          }
                          session->start(refuse);
                          accept_loop(acceptor, ioc, state);
                        });
}

}  // namespace

int serve(std::vector<std::unique_ptr<ServedModel>> models, const ServeOptions& options) {
  State state;
  state.options = options;
  for (auto& m : models) {
    const std::string name = m->name();
    if (state.models.count(name)) throw usage_error("two models are named '" + name + "'");
    Model entry;
    entry.batcher =
        std::make_unique<Batcher>(*m, options.max_batch, options.max_delay,
                                  [&state, name](std::size_t rows) { state.metrics.batch(name, rows); });
    entry.model = std::move(m);
    state.models.emplace(name, std::move(entry));
  }

  net::io_context ioc;
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint = parse_endpoint(options.listen);
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw usage_error("cannot listen on " + options.listen + ": " + ec.message());
  const tcp::endpoint bound = acceptor.local_endpoint();
  if (!options.quiet) {
    const std::string host =
        bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    std::printf("listening on %s:%u\n", host.c_str(), unsigned(bound.port()));
    std::fflush(stdout);
  }

  state.ioc = &ioc;
  net::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code sec, int) {
    if (sec) return;
    state.draining = true;
    beast::error_code cec;
    acceptor.close(cec);
    {
      std::lock_guard<std::mutex> lock(state.sessions_mutex);
      for (const auto& w : state.sessions)
        if (auto s = w.lock()) s->close_if_idle();
    }
    // The loop ends once every connection has had its answers written and
    // closed: queued requests still run.
  });
  accept_loop(acceptor, ioc, state);

  std::vector<std::thread> threads;
  for (int i = 1; i < options.io_threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  // Every connection has ended, so nothing is queued any more.
  for (auto& [name, m] : state.models) m.batcher->drain();
  return 0;
}

}  // namespace keel::serve
