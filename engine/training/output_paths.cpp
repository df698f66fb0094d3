#include "training/output_paths.hpp"

#include <sys/stat.h>

#include <string>

#include "base/error.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

// A file the graph names, with where it is named and what it is for.
struct NamedFile {
  std::string text;  // as written
  Loc loc;
  const char* what;  // "checkpoint path", "metrics file"
};

std::vector<NamedFile> named_files(const TrainDef& def) {
  std::vector<NamedFile> files;
  if (!def.checkpoint.path.empty())
    files.push_back({def.checkpoint.path,
                     def.checkpoint.path_loc.line ? def.checkpoint.path_loc : def.checkpoint.loc,
                     "train.checkpoint.path"});
  if (!def.checkpoint.sign_key.empty())
    files.push_back({def.checkpoint.path + ".minisig", def.checkpoint.sign_loc, "train.checkpoint.sign"});
  if (!def.metrics.empty())
    files.push_back({def.metrics, def.metrics_loc.line ? def.metrics_loc : def.loc, "train.metrics"});
  return files;
}

// `a` is `b`, or a folder on the way to `b`.
bool contains(const fs::path& a, const fs::path& b) {
  auto ia = a.begin(), ib = b.begin();
  for (; ia != a.end(); ++ia, ++ib)
    if (ib == b.end() || *ia != *ib) return false;
  return true;
}

std::string in_quotes(const std::string& s) { return "'" + printable(s, 200) + "'"; }

// The name, lexically normalized, if it stays inside the output folder and
// names a file; otherwise the reason it does not.
fs::path normal_file_name(const NamedFile& f, const ValidatedGraph& graph) {
  const fs::path p(f.text);
  const auto refuse = [&](const std::string& why) {
    throw usage_error(std::string(f.what) + " " + in_quotes(f.text) + " " + why, graph.loc(f.loc));
  };
  if (p.is_absolute()) refuse("is absolute: files a graph writes go inside the output folder (--output-dir)");
  const fs::path n = p.lexically_normal();
  if (!n.empty() && *n.begin() == "..")
    refuse("leaves the output folder (--output-dir): a graph writes only inside it");
  if (n.empty() || n == "." || !n.has_filename() || f.text.back() == '/')
    refuse("names a folder, not a file");
  return n;
}

}  // namespace

std::vector<fs::path> reserved_output_names(const ValidatedGraph& graph, bool training) {
  std::vector<fs::path> names = {"anomalies.jsonl", ".keel.lock"};
  for (const auto& out : graph.def.outputs) names.emplace_back(out.text() + ".npy");
  for (const auto& image : graph.def.images) names.emplace_back(image.output + ".png");
  if (!training) return names;
  for (const char* own : {"holdout/rows.npy", "run.json", "steps.csv", "report.html"})
    names.emplace_back(own);
  for (const auto& in : graph.def.inputs) names.push_back(fs::path("holdout") / (in.name + ".npy"));
  // train.samples: the first epoch's grid stands for its folder, so a
  // `samples` link out of the output folder is refused before training.
  if (graph.def.train && graph.def.train->samples) names.emplace_back("samples/epoch-001.png");
  return names;
}

void check_output_names(const ValidatedGraph& graph, const TrainDef& def) {
  const std::vector<NamedFile> files = named_files(def);
  std::vector<fs::path> normal;
  for (const auto& f : files) normal.push_back(normal_file_name(f, graph));
  const std::vector<fs::path> reserved = reserved_output_names(graph, true);
  // An input named `rows` would be written where a fractional split's row
  // indices go.
  if (def.data.holdout > 0)
    for (const auto& in : graph.def.inputs)
      if (in.name == "rows")
        throw usage_error(
            "graph input 'rows' would be written to holdout/rows.npy, where the hold-out row "
            "indices go (train.data.holdout is a fraction): rename the input",
            graph.loc(in.loc));
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (contains(normal[i], normal[j]) || contains(normal[j], normal[i]))
        throw usage_error(std::string(files[i].what) + " " + in_quotes(files[i].text) +
                              " is the same file as " + files[j].what + " " + in_quotes(files[j].text) +
                              " (or a folder of it)",
                          graph.loc(files[i].loc));
    for (const fs::path& r : reserved)
      if (contains(normal[i], r) || contains(r, normal[i]))
        throw usage_error(std::string(files[i].what) + " " + in_quotes(files[i].text) + " collides with " +
                              in_quotes(r.string()) + ", which the run also writes in the output folder",
                          graph.loc(files[i].loc));
  }
}

namespace {

// realpath(3) for a path that may not exist yet, which also follows a
// dangling last link: open(O_CREAT) on it would create the link's target.
fs::path resolve_links(const fs::path& absolute, int hops = 0) {
  if (hops > 40)
    throw usage_error("too many levels of symbolic links in '" + printable(absolute.string(), 200) + "'");
  fs::path done = absolute.root_path();
  for (auto it = absolute.begin(); it != absolute.end(); ++it) {
    if (*it == absolute.root_path() || *it == "." || it->empty()) continue;
    if (*it == "..") {
      done = done.parent_path();
      continue;
    }
    const fs::path next = done / *it;
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(next, ec))) {
      done = next;
      continue;
    }
    const fs::path target = fs::read_symlink(next, ec);
    if (ec)
      throw usage_error("cannot read the symbolic link '" + printable(next.string(), 200) +
                        "': " + ec.message());
    fs::path rest = target.is_absolute() ? target : done / target;
    for (auto r = std::next(it); r != absolute.end(); ++r) rest /= *r;
    return resolve_links(rest, hops + 1);
  }
  return done;
}

}  // namespace

void check_output_locations(const ValidatedGraph& graph, const TrainDef* def, const fs::path& output_dir) {
  std::error_code ec;
  const fs::path root = resolve_links(fs::absolute(output_dir, ec));
  struct Resolved {
    std::string text;
    const char* what;
    Loc loc;
    fs::path real;
  };
  std::vector<Resolved> files;
  if (def)
    for (const auto& f : named_files(*def)) files.push_back({f.text, f.what, f.loc, {}});
  for (const fs::path& r : reserved_output_names(graph, def != nullptr))
    if (r != ".keel.lock") files.push_back({r.string(), "output", {}, {}});
  for (auto& f : files) {
    const auto where = f.loc.line ? graph.loc(f.loc) : SourceLoc{};
    const auto refuse = [&](const std::string& why) {
      throw usage_error(std::string(f.what) + " " + in_quotes(f.text) + " " + why, where);
    };
    f.real = resolve_links(root / fs::path(f.text));  // `..` after links, as open() takes it
    if (!contains(root, f.real) || f.real == root)
      refuse("leads outside the output folder '" + printable(root.string(), 200) +
             "' through a symbolic link (to '" + printable(f.real.string(), 200) + "')");
    struct stat st {};
    if (::stat(f.real.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      refuse(S_ISDIR(st.st_mode) ? "exists and is a folder, not a file"
                                 : "exists and is not a regular file (a FIFO, a device or a socket)");
  }
  for (std::size_t i = 0; i < files.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (contains(files[i].real, files[j].real) || contains(files[j].real, files[i].real))
        throw usage_error(std::string(files[i].what) + " " + in_quotes(files[i].text) + " and " +
                              files[j].what + " " + in_quotes(files[j].text) +
                              " are the same file through a symbolic link ('" +
                              printable(files[i].real.string(), 200) + "')",
                          files[i].loc.line ? graph.loc(files[i].loc) : graph.loc(files[j].loc));
}

}  // namespace keel
