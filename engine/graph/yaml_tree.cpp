#include "graph/yaml_tree.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <istream>
#include <streambuf>

#include "base/error.hpp"

namespace keel::yaml {
namespace {

// Lets yaml-cpp read the text where it lies (std::istringstream would copy
// it first). The parser only reads and puts back what it has just read, so
// the buffer is never written.
class TextBuffer : public std::streambuf {
 public:
  explicit TextBuffer(const std::string& text) {
    char* p = const_cast<char*>(text.data());
    setg(p, p, p + text.size());
  }
};

Loc mark_loc(const YAML::Mark& m) {
  if (m.is_null()) return {1, 1};
  return {m.line + 1, m.column + 1};
}

}  // namespace

// Turns the parser's events into the Tree, as YAML::Load's NodeBuilder
// would: every event is a node, a collection's children are the nodes
// between its start and its end (a map's alternate key, value), an alias is
// the node registered under its anchor. Only the first document is built;
// for every document the root's mark is kept, to count documents and to
// notice the empty ones a stray token produces.
class Builder final : public YAML::EventHandler {
 public:
  struct Root {
    YAML::Mark mark;
    bool null = false;
  };
  std::vector<Root> roots;

  // `source_size`: the text's length, which the scalars' text does not
  // exceed; a small file's text block is no larger.
  Builder(Tree& tree, std::size_t source_size)
      : t_(tree), block_reserve_(std::min(source_size, Tree::kTextBlock)) {}

  void OnDocumentStart(const YAML::Mark&) override {
    depth_ = 0;
    ++documents_;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    root(m, true);
    if (building()) attach(add(m, Kind::null, anchor, false));
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    root(m, false);
    // The parser has already refused an alias with no anchor before it.
    if (building()) attach(anchor < anchors_.size() ? anchors_[anchor] : add(m, Kind::null, 0, false));
  }
  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    root(m, false);
    if (!building()) return;
    const std::uint32_t i = add(m, Kind::scalar, anchor, tag == "!" || tag == "tag:yaml.org,2002:str");
    Tree::Entry& e = t_.nodes_[i];
    e.begin = store(value);
    e.size = static_cast<std::uint32_t>(value.size());
    attach(i);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(m, Kind::sequence, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(m, Kind::map, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  bool building() const { return documents_ == 1; }

  void root(const YAML::Mark& m, bool null) {
    if (depth_ == 0) roots.push_back({m, null});
  }

  // Where the text goes: the open block when it fits there, else a new one
  // (of its own when it is longer than a block). Fewer than 2^16 blocks: a
  // block is closed only when the next scalar does not fit in it, so two
  // neighbouring blocks hold more than 64 KiB, and the scalars together are
  // no longer than the text (under 512 MiB).
  std::uint32_t store(const std::string& value) {
    auto& blocks = t_.text_;
    if (value.size() > Tree::kTextBlock) {
      blocks.push_back(value);
      return static_cast<std::uint32_t>(blocks.size() - 1) << 16;
    }
    if (open_block_ == kNone || blocks[open_block_].size() + value.size() > Tree::kTextBlock) {
      open_block_ = blocks.size();
      blocks.emplace_back().reserve(block_reserve_);
    }
    std::string& block = blocks[open_block_];
    const std::size_t offset = block.size();
    block += value;
    return static_cast<std::uint32_t>(open_block_ << 16 | offset);
  }

  std::uint32_t add(const YAML::Mark& m, Kind kind, YAML::anchor_t anchor, bool quoted) {
    const auto i = static_cast<std::uint32_t>(t_.nodes_.size());
    const bool marked = !m.is_null();
    t_.nodes_.push_back({0, 0, marked ? static_cast<std::uint32_t>(m.line + 1) : 0,
                         marked ? static_cast<std::uint32_t>(m.column + 1) & ((1u << 29) - 1) : 0,
                         static_cast<std::uint32_t>(kind) & 3u, quoted ? 1u : 0u});
    // Anchors are numbered from 1 in the order they appear.
    if (anchor != 0) {
      if (anchors_.size() <= anchor) anchors_.resize(anchor + 1, i);
      anchors_[anchor] = i;
    }
    return i;
  }

  void attach(std::uint32_t i) {
    if (open_.empty())
      t_.root_ = i;
    else
      pending_.push_back(i);
  }

  // A collection joins its parent when it starts (its place among the
  // parent's children is known then); its own children gather on pending_
  // and move into the tree's child array, contiguous, when it ends.
  void open(const YAML::Mark& m, Kind kind, YAML::anchor_t anchor) {
    root(m, false);
    ++depth_;
    if (!building()) return;
    const std::uint32_t i = add(m, kind, anchor, false);
    attach(i);
    open_.push_back({i, pending_.size()});
  }
  void close() {
    --depth_;
    if (!building()) return;
    const auto [i, start] = open_.back();
    open_.pop_back();
    Tree::Entry& e = t_.nodes_[i];
    e.begin = static_cast<std::uint32_t>(t_.kids_.size());
    e.size = static_cast<std::uint32_t>(pending_.size() - start);
    for (std::size_t k = start; k < pending_.size(); ++k) t_.kids_.push_back(pending_[k]);
    pending_.resize(start);
  }

  static constexpr std::size_t kNone = ~std::size_t{0};
  Tree& t_;
  std::size_t block_reserve_;
  std::size_t open_block_ = kNone;
  int depth_ = 0;
  int documents_ = 0;
  std::vector<std::uint32_t> anchors_{0};
  std::vector<std::pair<std::uint32_t, std::size_t>> open_;
  std::vector<std::uint32_t> pending_;
};

Tree::Tree(const std::string& text, const std::string& file) {
  auto fail = [&](const std::string& message, Loc l) {
    throw usage_error(message, SourceLoc{file, l.line, l.col});
  };
  // Offsets are 32-bit and columns 29-bit: a tree holds no more text, nodes
  // or children than its source has bytes, and no line is longer than the
  // source (graph files are capped far below this).
  if (text.size() >= (std::size_t{1} << 29)) fail("the YAML text is larger than 512 MiB", {1, 1});

  Builder builder(*this, text.size());
  try {
    TextBuffer buffer(text);
    std::istream in(&buffer);
    YAML::Parser parser(in);
    // Three documents at most: one is a graph, two are an error, and a
    // stray token after the root makes an endless run of empty ones
    // (checked below); YAML::LoadAll would never stop there.
    for (int i = 0; i < 3 && parser.HandleNextDocument(builder); ++i) {
    }
  } catch (const YAML::DeepRecursion& e) {
    fail("the YAML is nested too deeply", mark_loc(e.mark));
  } catch (const YAML::ParserException& e) {
    fail("not valid YAML: " + e.msg, mark_loc(e.mark));
  } catch (const YAML::Exception& e) {
    fail(std::string("not valid YAML: ") + e.what(), {1, 1});
  }

  const auto& r = builder.roots;
  for (std::size_t i = 1; i < r.size(); ++i) {
    if (r[i].null && r[i - 1].null && r[i].mark.pos == r[i - 1].mark.pos) {
      const auto pos = static_cast<std::size_t>(r[i].mark.pos);
      const std::string token = pos < text.size() ? std::string(1, text[pos]) : std::string("end of file");
      fail("not valid YAML: unexpected '" + token + "'", mark_loc(r[i].mark));
    }
  }
  has_root_ = !r.empty() && !r[0].null;
  if (r.size() > 1) {
    has_second_ = true;
    second_ = mark_loc(r[1].mark);
  }
}

}  // namespace keel::yaml
