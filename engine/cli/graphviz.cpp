#include "cli/graphviz.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/error.hpp"
#include "runtime/signals.hpp"

extern char** environ;

namespace keel::cli {

namespace fs = std::filesystem;

namespace {

// A private temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (fs::temp_directory_path() / "keel-graph-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
      throw runtime_error("cannot create a temporary folder: " + std::string(std::strerror(errno)));
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

std::string render_with_graphviz(const std::string& dot_text, const std::string& format) {
  ScratchDir dir;
  const fs::path in = dir.path() / "graph.dot", out = dir.path() / ("graph." + format),
                 err = dir.path() / "stderr";
  // Ctrl-C while dot runs leaves at most the empty folder, not the files.
  const signals::TemporaryFile remove_in(in), remove_out(out), remove_err(err);
  {
    std::ofstream f(in, std::ios::binary);
    f << dot_text;
    if (!f.flush()) throw runtime_error("cannot write a temporary file '" + in.string() + "'");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const std::string type = "-T" + format;
  std::vector<std::string> args{"dot", type, in.string(), "-o", out.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, "dot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT)
    throw usage_error("--format " + format +
                      " needs Graphviz's 'dot' program, which is not on PATH: install Graphviz "
                      "(Debian: apt-get install graphviz) or use --format dot");
  if (rc != 0) throw runtime_error("cannot run Graphviz's dot: " + std::string(std::strerror(rc)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto slurp = [](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg = slurp(err);
    msg = msg.substr(0, msg.find('\n'));
    throw runtime_error("Graphviz's dot failed" + (msg.empty() ? std::string() : ": " + msg));
  }
  return slurp(out);
}

}  // namespace keel::cli
