// One YAML document as a compact tree, read in a single pass of yaml-cpp's
// event parser. It replaces YAML::Load for graph files: Load builds a tree of
// reference-counted nodes (most of the time spent reading a large graph),
// where this keeps every node as one 16-byte entry of an array, every scalar
// as a slice of a text block and every collection as a run of child indices.
//
// What a node reports is what YAML::Load's node would: its kind, its text,
// where it starts, whether it was quoted. An alias is the node its anchor
// names (its mark is the anchor's), so a tree can share nodes and even be
// cyclic (`&a [*a]`): whoever walks it must bound the walk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "graph/graph_def.hpp"

namespace keel::yaml {

class Tree;
struct TailSplit;  // graph/yaml_split.hpp

// An array kept in blocks of 64 KiB rather than in one buffer. Blocks this
// small come from the heap, so once a tree is gone its memory serves what is
// allocated next (a graph's validation and plan), where one large buffer
// would go back to the system and fresh pages be taken again. On a VM a
// fresh page costs over 10 us, and a large graph's tree takes thousands.
template <class T>
class BlockArray {
 public:
  static constexpr std::size_t kPerBlock = (std::size_t{64} << 10) / sizeof(T);
  static_assert((kPerBlock & (kPerBlock - 1)) == 0, "a power of two: indexing is a shift and a mask");
  // A block is left uninitialized until written: a small file touches a
  // page of it, not 64 KiB.
  static_assert(std::is_trivially_default_constructible_v<T>);

  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return blocks_[i / kPerBlock][i % kPerBlock]; }
  const T& operator[](std::size_t i) const { return blocks_[i / kPerBlock][i % kPerBlock]; }
  void push_back(const T& value) {
    if (size_ % kPerBlock == 0) blocks_.push_back(std::make_unique_for_overwrite<T[]>(kPerBlock));
    (*this)[size_++] = value;
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  std::size_t size_ = 0;
};

enum class Kind : std::uint8_t { null, scalar, sequence, map };

// A handle to one node of a Tree; valid while the Tree lives.
class Node {
 public:
  Kind kind() const;
  bool is_null() const { return kind() == Kind::null; }
  bool is_scalar() const { return kind() == Kind::scalar; }
  bool is_sequence() const { return kind() == Kind::sequence; }
  bool is_map() const { return kind() == Kind::map; }

  // Quoted ('x', "x") or tagged as a string (!!str, !): text that is never
  // to be read as a number or a bool.
  bool quoted() const;
  // Where the node starts, 1-based; {0, 0} when yaml-cpp gave no position.
  Loc mark() const;
  // A scalar's text; empty for the other kinds.
  std::string_view scalar() const;

  // Items of a sequence, entries (key/value pairs) of a map, 0 otherwise.
  std::size_t size() const;
  Node item(std::size_t i) const;
  Node key(std::size_t i) const;
  Node value(std::size_t i) const;

 private:
  friend class Tree;
  Node(const Tree* tree, std::uint32_t index) : tree_(tree), index_(index) {}
  std::uint32_t child(std::size_t i) const;
  const Tree* tree_;
  std::uint32_t index_;
};

class Tree {
 public:
  // Reads the first YAML document of `text` into a tree and looks far enough
  // past it to tell whether a second one follows. A syntax error, nesting
  // deeper than yaml-cpp's parser allows, or a stray token after the root
  // node (on which YAML::LoadAll would loop forever) is a usage error at
  // FILE:LINE:COL, with the message yaml-cpp gives. A large graph file may
  // be read by two parsers at once (graph/yaml_split.hpp): the tree, and
  // any error, are the same.
  Tree(const std::string& text, const std::string& file);
  // The same tree, always read in one pass: what the split read is checked
  // against.
  static std::unique_ptr<Tree> read_in_one_pass(const std::string& text, const std::string& file) {
    return std::unique_ptr<Tree>(new Tree(text, file, OnePass{}));
  }
  // Nodes point at their tree: it stays where it was built.
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  // False when the text holds no document or the first one is empty.
  bool has_root() const { return has_root_; }
  Node root() const { return Node(this, root_); }
  // Where a second document starts, when there is one.
  bool has_second_document() const { return has_second_; }
  Loc second_document() const { return second_; }

 private:
  friend class Node;
  friend class Builder;
  struct OnePass {};
  Tree(const std::string& text, const std::string& file, OnePass) { read(text, file); }
  void read(const std::string& text, const std::string& file);
  // The split read; false when it cannot stand for read() (the tree is then
  // left empty for read() to fill).
  bool read_split(const std::string& text, const std::string& file, const TailSplit& split);
  bool adopt_tail(const Tree& tail, const TailSplit& split);

  // 16 bytes a node: a large graph has close to a million of them.
  struct Entry {
    std::uint32_t begin;     // scalar: text block << 16 | offset; collection: index in kids_
    std::uint32_t size;      // scalar: length; collection: children (2 per map entry)
    std::uint32_t line;      // 1-based; 0 when yaml-cpp gave no position
    std::uint32_t col : 29;  // a column is below the text's size, which is capped
    std::uint32_t kind : 2;
    std::uint32_t quoted : 1;
  };
  static_assert(sizeof(Entry) == 16);
  BlockArray<Entry> nodes_;
  BlockArray<std::uint32_t> kids_;
  // Scalars' text, in blocks of 64 KiB (a longer scalar has a block of its
  // own), so an offset in a block fits in 16 bits.
  static constexpr std::size_t kTextBlock = std::size_t{1} << 16;
  std::vector<std::string> text_;
  std::uint32_t root_ = 0;
  bool has_root_ = false;
  bool has_second_ = false;
  Loc second_;
};

inline Kind Node::kind() const { return static_cast<Kind>(tree_->nodes_[index_].kind); }
inline bool Node::quoted() const { return tree_->nodes_[index_].quoted; }
inline Loc Node::mark() const {
  const Tree::Entry& e = tree_->nodes_[index_];
  return {static_cast<int>(e.line), static_cast<int>(e.col)};
}
inline std::string_view Node::scalar() const {
  const Tree::Entry& e = tree_->nodes_[index_];
  if (static_cast<Kind>(e.kind) != Kind::scalar) return {};
  return std::string_view(tree_->text_[e.begin >> 16]).substr(e.begin & 0xffffu, e.size);
}
inline std::size_t Node::size() const {
  const Tree::Entry& e = tree_->nodes_[index_];
  if (static_cast<Kind>(e.kind) == Kind::sequence) return e.size;
  if (static_cast<Kind>(e.kind) == Kind::map) return e.size / 2;
  return 0;
}
inline std::uint32_t Node::child(std::size_t i) const {
  return tree_->kids_[tree_->nodes_[index_].begin + i];
}
inline Node Node::item(std::size_t i) const { return Node(tree_, child(i)); }
inline Node Node::key(std::size_t i) const { return Node(tree_, child(2 * i)); }
inline Node Node::value(std::size_t i) const { return Node(tree_, child(2 * i + 1)); }

}  // namespace keel::yaml
