// The bad-input corpus (tests/data/bad_inputs/README.md): every case runs
// through the real `keel` binary and must end with its documented exit code,
// a first stderr line `keel: error: ...` holding its fragment, no crash, no
// hang, and nothing written.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using keel::test::ProcessResult;
using keel::test::slurp;

namespace {

const fs::path kCorpus = fs::path(KEEL_SOURCE_DIR) / "tests" / "data" / "bad_inputs";

struct Case {
  fs::path file;
  int exit = -1;
  std::string error;
  std::string args;
  std::map<std::string, std::string> env;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

bool is_case(const fs::path& p) {
  const std::string name = p.filename().string();
  return p.extension() != ".expect" && name != "README.md" && name != "make_cases.py" &&
         p.parent_path().filename() != "fixtures";
}

Case read_case(const fs::path& file) {
  Case c{file};
  const fs::path sidecar = file.string() + ".expect";
  if (!fs::exists(sidecar)) FAIL("no " << sidecar.filename() << " beside " << file);
  std::istringstream in(slurp(sidecar));
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    const std::string value = line.substr(line.find_first_not_of(' ', colon + 1) == std::string::npos
                                              ? line.size()
                                              : line.find_first_not_of(' ', colon + 1));
    if (key == "exit")
      c.exit = std::stoi(value);
    else if (key == "error")
      c.error = value;
    else if (key == "args")
      c.args = value;
    else if (key == "env")
      c.env[value.substr(0, value.find('='))] = value.substr(value.find('=') + 1);
    else
      FAIL("unknown key '" << key << "' in " << sidecar);
  }
  if (c.exit < 0) FAIL("no 'exit:' in " << sidecar);
  if (c.exit != 0 && c.error.empty()) FAIL("no 'error:' in " << sidecar);
  if (!c.args.empty()) return c;
  const std::string folder = file.parent_path().filename().string();
  static const std::map<std::string, std::string> defaults = {
      {"graphs", "validate {file}"},
      {"tensors", "run {fixtures}/x_input.yaml --input x={file} -o {out}"},
      {"checkpoints", "run {fixtures}/linear.yaml --params {file} --input x={fixtures}/x.npy -o {out}"},
      {"containers", "run {fixtures}/decrypt.yaml --input x={file} -o {out}"},
      {"keys", "run {fixtures}/decrypt.yaml --input x={fixtures}/good_container.npy -o {out}"},
      {"data", "run {fixtures}/train_csv.yaml -q -o {out}"},
  };
  const auto it = defaults.find(folder);
  if (it == defaults.end())
    FAIL("folder " << folder << " has no default command: give 'args:' in " << sidecar);
  c.args = it->second;
  return c;
}

ProcessResult run_case(const Case& c, const fs::path& work) {
  const fs::path fixtures = work / "fixtures", out = work / "out";
  fs::create_directories(fixtures);
  const std::string folder = c.file.parent_path().filename().string();
  std::string key = (fixtures / "good.key").string();
  if (folder == "keys") {
    // Keel refuses key files that group or others may read (as ssh does), and
    // a checkout does not keep modes: the corpus checks what comes after that
    // check, on a protected copy.
    const fs::path copy = fixtures / c.file.filename();
    fs::copy_file(c.file, copy, fs::copy_options::overwrite_existing);
    fs::permissions(copy, fs::perms::owner_read | fs::perms::owner_write);
    key = copy.string();
  }
  const std::string data = folder == "data" ? c.file.string() : "";
  // decrypt needs a static input length: the container's, read from its
  // .npy (1 when it cannot be read; keel then reports why).
  std::string n = "1";
  const fs::path container = folder == "keys" ? kCorpus / "fixtures" / "good_container.npy" : c.file;
  try {
    const keel::Tensor t = keel::read_npy(container);
    if (t.shape().size() == 1) n = std::to_string(t.shape()[0]);
  } catch (const std::exception&) {
  }
  for (const auto& e : fs::directory_iterator(kCorpus / "fixtures")) {
    std::string bytes = slurp(e.path());
    if (e.path().extension() == ".yaml")
      bytes = replace_all(replace_all(replace_all(bytes, "{key}", key), "{data}", data), "{n}", n);
    std::ofstream(fixtures / e.path().filename(), std::ios::binary) << bytes;
  }
  fs::permissions(fixtures / "good.key", fs::perms::owner_read | fs::perms::owner_write);
  std::vector<std::string> args;
  std::istringstream words(c.args);
  for (std::string w; words >> w;) {
    w = replace_all(w, "{file}", c.file.string());
    w = replace_all(w, "{out}", out.string());
    w = replace_all(w, "{fixtures}", fixtures.string());
    w = replace_all(w, "{src}", KEEL_SOURCE_DIR);
    args.push_back(w);
  }
  return keel::test::run_keel(args, c.env);
}

}  // namespace

TEST_CASE("every bad input in the corpus fails cleanly with its exit code and message") {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kCorpus))
    if (e.is_regular_file() && is_case(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 50);

  std::set<std::string> folders;
  for (const fs::path& file : files) {
    const Case c = read_case(file);
    folders.insert(file.parent_path().filename().string());
    keel::test::TempDir work;
    const ProcessResult r = run_case(c, work.path());
    INFO(fs::relative(file, kCorpus).string()
         << ": keel " << c.args << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.signal == 0);
    CHECK(r.exit_code == c.exit);
    if (c.exit == 0) continue;
    CHECK(r.first_err_line().rfind("keel: error: ", 0) == 0);
    CHECK(r.first_err_line().find(c.error) != std::string::npos);
    CHECK(r.err.find("terminate called") == std::string::npos);
    // Nothing written, not even a partial file or a temporary.
    if (fs::exists(work / "out"))
      for (const auto& e : fs::recursive_directory_iterator(work / "out")) CHECK_FALSE(e.is_regular_file());
  }
  // Every kind of file Keel reads has cases.
  for (const char* folder : {"graphs", "tensors", "checkpoints", "containers", "keys", "data", "onnx"}) {
    INFO(folder);
    CHECK(folders.count(folder) == 1);
  }
}
