// docs/sdk.md is executable: every fenced block is either a file of the
// tutorial's project (```cpp NAME, ```cmake NAME, ```yaml NAME) or shell
// commands (```sh) run in order in that project against the relocated
// install. A block of any other kind fails the test, so nothing in the
// tutorial goes unchecked.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sdk_util.hpp"

namespace fs = std::filesystem;
using namespace keel::test;

namespace {

struct Block {
  std::string lang, name, text;
  int line = 0;  // of the opening fence
};

std::vector<Block> fenced_blocks(const std::string& markdown) {
  std::vector<Block> blocks;
  std::istringstream in(markdown);
  std::string line;
  int number = 0;
  Block* open = nullptr;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("```", 0) != 0) {
      if (open) open->text += line + "\n";
      continue;
    }
    if (open) {
      open = nullptr;
      continue;
    }
    std::istringstream info(line.substr(3));
    Block b;
    b.line = number;
    info >> b.lang >> b.name;
    blocks.push_back(b);
    open = &blocks.back();
  }
  REQUIRE(open == nullptr);  // every fence is closed
  return blocks;
}

}  // namespace

TEST_CASE("every code block of the SDK tutorial builds and runs against the installed SDK") {
  std::ifstream md(fs::path(KEEL_SOURCE_DIR) / "docs/sdk.md");
  REQUIRE(md);
  std::stringstream text;
  text << md.rdbuf();
  const std::vector<Block> blocks = fenced_blocks(text.str());

  const fs::path project = fs::path(KEEL_SDK_WORK_DIR) / "tutorial";
  fs::remove_all(project);
  fs::create_directories(project);
  int files = 0, scripts = 0;
  for (const Block& b : blocks) {
    INFO("docs/sdk.md:" << b.line << ": ```" << b.lang << " " << b.name);
    if (b.lang == "sh") {
      CHECK(b.name.empty());
      continue;
    }
    REQUIRE((b.lang == "cpp" || b.lang == "cmake" || b.lang == "yaml"));
    REQUIRE_FALSE(b.name.empty());  // a file of the project: it needs a name
    std::ofstream(project / b.name) << b.text;
    ++files;
  }
  REQUIRE(fs::exists(project / "CMakeLists.txt"));
  for (const Block& b : blocks) {
    if (b.lang != "sh") continue;
    ++scripts;
    ProcessResult r = run_shell(b.text, project, 600);
    INFO("docs/sdk.md:" << b.line << ":\n" << b.text << describe(r));
    REQUIRE(r.exit_code == 0);
  }
  CHECK(files >= 4);
  CHECK(scripts >= 2);
}
