#include "graph/yaml_tree.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <istream>
#include <memory>
#include <optional>
#include <streambuf>
#include <system_error>
#include <thread>

#include "base/error.hpp"
#include "graph/yaml_split.hpp"

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

namespace {

// Below this a second thread costs more than it saves.
constexpr std::size_t kSplitBytes = std::size_t{1} << 20;
constexpr std::size_t kSplitItems = 10000;

}  // namespace

Tree::Tree(const std::string& text, const std::string& file) {
  if (text.size() >= kSplitBytes && text.size() < (std::size_t{1} << 29) &&
      std::thread::hardware_concurrency() > 1)
    if (const auto split = find_tail_split(text, kSplitItems); split && read_split(text, file, *split))
      return;
  read(text, file);
}

// The text with the tail's lines blanked is read here while another thread
// reads the tail alone, preceded by as many empty lines, so both report the
// lines and columns of the whole file. Either failing, or the trees not
// having the expected shape, makes the caller read the whole text in one
// pass, which then reports whatever error there is as it always did.
bool Tree::read_split(const std::string& text, const std::string& file, const TailSplit& split) {
  std::string tail(split.first_line, '\n');
  tail.append(text, split.begin, split.end - split.begin);
  std::unique_ptr<Tree> tail_tree;
  std::thread tail_reader;
  try {
    tail_reader = std::thread([&] {
      try {
        tail_tree.reset(new Tree(tail, file, OnePass{}));
      } catch (...) {
        tail_tree.reset();
      }
    });
  } catch (const std::system_error&) {
    return false;  // no thread to be had: one pass
  }
  bool ok = true;
  try {
    const auto lines = std::count(text.begin() + std::ptrdiff_t(split.begin),
                                  text.begin() + std::ptrdiff_t(split.end), '\n');
    std::string head;
    head.reserve(text.size() - (split.end - split.begin) + std::size_t(lines));
    head.append(text, 0, split.begin).append(std::size_t(lines), '\n').append(text, split.end);
    read(head, file);
  } catch (...) {
    ok = false;
  }
  tail_reader.join();
  ok = ok && tail_tree && adopt_tail(*tail_tree, split);
  if (!ok) {
    nodes_ = {};
    kids_ = {};
    text_.clear();
    root_ = 0;
    has_root_ = has_second_ = false;
    second_ = {};
  }
  return ok;
}

// Appends the tail's items to the `nodes:` sequence, after checking that
// every line of the split run was read as one item of that sequence: the
// head's last items on lines run_line .. first_line - 1, one each, and the
// tail's on the lines after.
bool Tree::adopt_tail(const Tree& tail, const TailSplit& split) {
  if (!has_root_ || has_second_ || !tail.has_root_ || tail.has_second_) return false;
  const Node top = root(), items = tail.root();
  if (!top.is_map() || !items.is_sequence()) return false;
  std::optional<std::uint32_t> seq;
  for (std::size_t i = 0; i < top.size(); ++i)
    if (top.key(i).is_scalar() && top.key(i).scalar() == "nodes") {
      if (seq) return false;
      seq = top.value(i).index_;
    }
  if (!seq) return false;
  const Node head(this, *seq);
  const std::size_t run = split.first_line - split.run_line, head_items = head.size();
  if (!head.is_sequence() || head_items < run || head.mark().line != int(split.sequence_line + 1))
    return false;
  for (std::size_t i = 0; i < run; ++i) {
    const Node item = head.item(head_items - run + i);
    if (item.mark().line != int(split.run_line + 1 + i) || !item.is_map()) return false;
  }
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items.item(i).mark().line != int(split.first_line + 1 + i) || !items.item(i).is_map()) return false;
  if (text_.size() + tail.text_.size() >= (std::size_t{1} << 16)) return false;

  // The tail's nodes, children and text blocks go after this tree's, their
  // indices moved by as much.
  const auto node_base = static_cast<std::uint32_t>(nodes_.size());
  const auto kid_base = static_cast<std::uint32_t>(kids_.size());
  const auto block_base = static_cast<std::uint32_t>(text_.size());
  for (std::size_t k = 0; k < tail.kids_.size(); ++k) kids_.push_back(tail.kids_[k] + node_base);
  for (std::size_t k = 0; k < tail.nodes_.size(); ++k) {
    Entry e = tail.nodes_[k];
    if (static_cast<Kind>(e.kind) == Kind::scalar)
      e.begin += block_base << 16;
    else if (static_cast<Kind>(e.kind) != Kind::null)
      e.begin += kid_base;
    nodes_.push_back(e);
  }
  text_.insert(text_.end(), tail.text_.begin(), tail.text_.end());
  // The sequence's children, contiguous again: the head's, then the tail's.
  Entry& s = nodes_[*seq];
  const auto joined = static_cast<std::uint32_t>(kids_.size());
  for (std::size_t i = 0; i < head_items; ++i) kids_.push_back(kids_[s.begin + i]);
  for (std::size_t i = 0; i < items.size(); ++i)
    kids_.push_back(tail.kids_[tail.nodes_[tail.root_].begin + i] + node_base);
  s.begin = joined;
  s.size = static_cast<std::uint32_t>(head_items + items.size());
  return true;
}

void Tree::read(const std::string& text, const std::string& file) {
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
