// Where the fixture plugins are, scratch folders, and scoped environment
// changes for the loader tests.
#pragma once

#include <dlfcn.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "files.hpp"
#include "registry/loader.hpp"

namespace fixture {

namespace fs = std::filesystem;

// tests/plugins/CASE/keel_fixture_CASE.so, as built by tests/registry/CMakeLists.txt.
inline fs::path plugin_dir(const std::string& name) { return fs::path(KEEL_TEST_PLUGIN_DIR) / name; }
inline fs::path plugin(const std::string& name) {
  return plugin_dir(name) / ("keel_fixture_" + name + ".so");
}

// Whether the dynamic linker has the file mapped right now (RTLD_NOLOAD
// finds it without loading it).
inline bool is_mapped(const fs::path& file) {
  void* handle = dlopen(file.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return false;
  dlclose(handle);
  return true;
}

// Scratch folders are the tests' shared ones.
using keel::test::TempDir;

// Sets (or, given nullopt, unsets) an environment variable until destroyed.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value)
      setenv(name_.c_str(), value->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_.c_str(), old_->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Loads `file` into a fresh registry and returns the keel::Error it raised;
// anything else (success, another exception type) is a test failure.
inline std::optional<keel::Error> load_error(const fs::path& file) {
  keel::Registry registry;
  try {
    keel::load_plugin(registry, file);
  } catch (const keel::Error& e) {
    CHECK(registry.plugins().empty());  // a failed load adds nothing
    CHECK(registry.op_names().empty());
    return e;
  } catch (const std::exception& e) {
    FAIL_CHECK("a non-keel exception escaped: " << e.what());
    return std::nullopt;
  }
  FAIL_CHECK("loading " << file << " succeeded");
  return std::nullopt;
}

// The message of load_error, or a marker that never equals an expected one.
inline std::string load_message(const fs::path& file) {
  auto e = load_error(file);
  if (!e) return "(no keel::Error)";
  CHECK(e->code() == keel::ExitCode::usage);
  return e->what();
}

}  // namespace fixture
