// Reading an ONNX model: protobuf parsing with bounded input and nesting,
// then the checks ONNX's own loader skipped in the versions Debian ships
// (CVE-2024-27318: external data paths; CVE-2024-27319: sizes read past the
// data): every tensor's size is computed with overflow checks and compared
// with the bytes present before anything is allocated, and external data is
// refused outright. Nothing here trusts a count from the file.
#include "onnx/onnx_model.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <set>

#include "base/error.hpp"
#include "runtime/read_file.hpp"

namespace keel::onnx {

namespace pb = ::onnx;

const Tensor* Model::initializer(std::string_view name) const {
  for (const auto& [n, t] : initializers)
    if (n == name) return &t;
  return nullptr;
}

std::string elem_type_name(int elem_type) {
  if (pb::TensorProto_DataType_IsValid(elem_type))
    return pb::TensorProto_DataType_Name(static_cast<pb::TensorProto_DataType>(elem_type));
  return "type " + std::to_string(elem_type);
}

namespace {

// A tensor's rank beyond this is refused: no supported op needs more, and it
// bounds the work a hostile shape can cause.
constexpr int kMaxRank = 16;

[[noreturn]] void fail(const std::string& source, const std::string& message) {
  throw usage_error(source + ": " + message);
}

std::string named(const std::string& s) { return "'" + printable(s) + "'"; }

// A tensor's element count from its dims, or a message: negative dims,
// too many dims, or a product that overflows.
Tensor tensor_from_proto(const pb::TensorProto& p, const std::string& source, const std::string& what) {
  const std::string who = what + " " + named(p.name());
  if (p.data_location() == pb::TensorProto_DataLocation_EXTERNAL || p.external_data_size() > 0)
    fail(source, who +
                     " keeps its data in an external file; keel import reads only self-contained models "
                     "(save with all tensors inside the .onnx file)");
  if (p.has_segment()) fail(source, who + " is a segment of a split tensor, which keel import does not read");
  if (p.dims_size() > kMaxRank)
    fail(source, who + " has " + std::to_string(p.dims_size()) + " dimensions (at most " +
                     std::to_string(kMaxRank) + ")");
  Shape shape;
  for (std::int64_t d : p.dims()) {
    if (d < 0 || d > (std::int64_t{1} << 31))
      fail(source, who + " has a dimension out of range (" + std::to_string(d) + ")");
    shape.push_back(d);
  }
  DType dtype;
  std::size_t stored;  // elements given in the typed field
  switch (p.data_type()) {
    case pb::TensorProto_DataType_FLOAT:
      dtype = DType::f32;
      stored = static_cast<std::size_t>(p.float_data_size());
      break;
    case pb::TensorProto_DataType_INT64:
      dtype = DType::i64;
      stored = static_cast<std::size_t>(p.int64_data_size());
      break;
    case pb::TensorProto_DataType_INT32:  // widened to i64 (shapes and indices)
      dtype = DType::i64;
      stored = static_cast<std::size_t>(p.int32_data_size());
      break;
    default:
      fail(source, who + " is " + elem_type_name(p.data_type()) +
                       "; keel import reads FLOAT, INT64 and INT32 tensors");
  }
  const auto bytes = checked_nbytes(dtype, shape);
  if (!bytes) fail(source, who + " has the shape " + shape_for_message(shape) + ", too large to hold");
  const std::uint64_t count = *bytes / dtype_size(dtype);
  const std::size_t elem = p.data_type() == pb::TensorProto_DataType_INT32 ? 4 : dtype_size(dtype);
  if (!p.raw_data().empty()) {
    if (p.raw_data().size() / elem != count || p.raw_data().size() % elem != 0)
      fail(source, who + " has the shape " + shape_for_message(shape) + " (" + std::to_string(count) +
                       " elements) but " + std::to_string(p.raw_data().size()) + " bytes of data");
  } else if (stored != count) {
    fail(source, who + " has the shape " + shape_for_message(shape) + " (" + std::to_string(count) +
                     " elements) but " + std::to_string(stored) + " values");
  }
  // Sizes agree with data already in memory: allocating is now bounded.
  Tensor t(dtype, shape);
  if (count == 0) return t;
  const bool raw = !p.raw_data().empty();
  if (dtype == DType::f32) {
    if (raw)
      std::memcpy(t.data(), p.raw_data().data(), t.nbytes());  // ONNX raw data is little-endian, as we are
    else
      std::memcpy(t.data(), p.float_data().data(), t.nbytes());
  } else if (p.data_type() == pb::TensorProto_DataType_INT64) {
    if (raw)
      std::memcpy(t.data(), p.raw_data().data(), t.nbytes());
    else
      std::memcpy(t.data(), p.int64_data().data(), t.nbytes());
  } else {
    auto* out = t.as<std::int64_t>();
    for (std::uint64_t k = 0; k < count; ++k) {
      std::int32_t v;
      if (raw)
        std::memcpy(&v, p.raw_data().data() + k * 4, 4);
      else
        v = p.int32_data(static_cast<int>(k));
      out[k] = v;
    }
  }
  return t;
}

Attr attr_from_proto(const pb::AttributeProto& a, const std::string& source, const std::string& node) {
  Attr out;
  switch (a.type()) {
    case pb::AttributeProto_AttributeType_INT:
      out.kind = Attr::Kind::int_;
      out.i = a.i();
      break;
    case pb::AttributeProto_AttributeType_FLOAT:
      out.kind = Attr::Kind::float_;
      out.f = a.f();
      break;
    case pb::AttributeProto_AttributeType_STRING:
      out.kind = Attr::Kind::string;
      out.s = a.s();
      break;
    case pb::AttributeProto_AttributeType_INTS:
      out.kind = Attr::Kind::ints;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case pb::AttributeProto_AttributeType_FLOATS:
      out.kind = Attr::Kind::floats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case pb::AttributeProto_AttributeType_TENSOR:
      out.kind = Attr::Kind::tensor;
      out.t = tensor_from_proto(a.t(), source, "the tensor of node " + named(node) + "'s attribute");
      break;
    default:
      out.kind = Attr::Kind::other;  // graphs, sparse tensors, ...: no supported op takes them
  }
  return out;
}

ValueInfo value_from_proto(const pb::ValueInfoProto& v, const std::string& source) {
  ValueInfo out;
  out.name = v.name();
  if (!v.type().has_tensor_type())
    fail(source, "graph input or output " + named(v.name()) + " is not a tensor");
  const auto& tt = v.type().tensor_type();
  out.elem_type = tt.elem_type();
  out.has_shape = tt.has_shape();
  if (tt.shape().dim_size() > kMaxRank)
    fail(source, "graph input or output " + named(v.name()) + " has " +
                     std::to_string(tt.shape().dim_size()) + " dimensions (at most " +
                     std::to_string(kMaxRank) + ")");
  for (const auto& d : tt.shape().dim()) {
    ValueInfo::Dim dim;
    if (d.has_dim_value()) {
      if (d.dim_value() < 0)
        fail(source, "graph input " + named(v.name()) + " has a negative dimension (" +
                         std::to_string(d.dim_value()) + ")");
      dim.size = d.dim_value();
    } else if (d.has_dim_param()) {
      dim.symbol = d.dim_param();
    }
    out.dims.push_back(dim);
  }
  return out;
}

// protobuf reports some parse problems on stderr by itself; the importer
// reports them as one line of its own instead.
struct QuietProtobuf {
  QuietProtobuf() { previous = google::protobuf::SetLogHandler(nullptr); }
  ~QuietProtobuf() { google::protobuf::SetLogHandler(previous); }
  google::protobuf::LogHandler* previous;
};

}  // namespace

Model parse_model(std::string_view bytes, const std::string& source) {
  if (bytes.size() > kMaxModelBytes) fail(source, "larger than 2 GiB, the most an ONNX file can hold");
  pb::ModelProto proto;
  {
    QuietProtobuf quiet;
    google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
    google::protobuf::io::CodedInputStream in(&raw);
    in.SetTotalBytesLimit(static_cast<int>(bytes.size()));
    // Graphs nest only inside attributes (If, Loop), which no supported op
    // has; a shallow limit keeps a hostile nesting from exhausting the stack.
    in.SetRecursionLimit(32);
    if (!proto.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
      fail(source, "not an ONNX model: the protobuf data is malformed or truncated");
  }
  if (!proto.has_graph()) fail(source, "not an ONNX model: it holds no graph");
  Model m;
  m.source = source;
  m.producer =
      proto.producer_name() + (proto.producer_version().empty() ? "" : " " + proto.producer_version());
  for (const auto& o : proto.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") m.opset = o.version();
  if (m.opset == 0) fail(source, "the model imports no opset of the default ONNX domain");
  const pb::GraphProto& g = proto.graph();
  m.graph_name = g.name();

  std::set<std::string> defined;
  for (const auto& init : g.initializer()) {
    if (!defined.insert(init.name()).second)
      fail(source, "initializer " + named(init.name()) + " is defined twice");
    m.initializers.emplace_back(init.name(), tensor_from_proto(init, source, "initializer"));
  }
  if (g.sparse_initializer_size() > 0) fail(source, "sparse initializers are not supported");
  for (const auto& in : g.input()) {
    if (m.initializer(in.name())) continue;  // older exporters list initializers as inputs too
    if (!defined.insert(in.name()).second)
      fail(source, "graph input " + named(in.name()) + " is defined twice");
    m.inputs.push_back(value_from_proto(in, source));
  }
  int index = 0;
  for (const auto& n : g.node()) {
    Node node;
    node.op_type = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    ++index;
    // ONNX requires nodes in topological order: a name read before any node
    // defines it is a cycle or a missing tensor, refused here either way.
    for (const auto& i : n.input()) {
      if (!i.empty() && !defined.count(i))
        fail(source, "node " + named(node.name) + " (" + printable(n.op_type()) + ") reads " + named(i) +
                         ", which no earlier node, graph input or initializer defines");
      node.inputs.push_back(i);
    }
    for (const auto& o : n.output()) {
      if (!o.empty() && !defined.insert(o).second)
        fail(source, "node " + named(node.name) + " (" + printable(n.op_type()) + ") writes " + named(o) +
                         ", which is already defined");
      node.outputs.push_back(o);
    }
    for (const auto& a : n.attribute()) node.attrs[a.name()] = attr_from_proto(a, source, node.name);
    m.nodes.push_back(std::move(node));
  }
  for (const auto& out : g.output()) {
    if (!defined.count(out.name()))
      fail(source, "graph output " + named(out.name()) + " is produced by no node, input or initializer");
    m.outputs.push_back(value_from_proto(out, source));
  }
  if (m.outputs.empty()) fail(source, "the graph has no outputs");
  return m;
}

namespace {

void tensor_to_proto(const std::string& name, const Tensor& t, pb::TensorProto& p) {
  p.set_name(name);
  p.set_data_type(t.dtype() == DType::i64 ? pb::TensorProto_DataType_INT64 : pb::TensorProto_DataType_FLOAT);
  for (Dim d : t.shape()) p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char*>(t.data()), t.nbytes()));
}

void value_to_proto(const ValueInfo& v, pb::ValueInfoProto& p) {
  p.set_name(v.name);
  auto* tt = p.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(v.elem_type);
  auto* shape = tt->mutable_shape();
  for (const ValueInfo::Dim& d : v.dims) {
    auto* dim = shape->add_dim();
    if (d.size >= 0)
      dim->set_dim_value(d.size);
    else
      dim->set_dim_param(d.symbol);
  }
}

}  // namespace

std::string serialize_model(const Model& model) {
  pb::ModelProto proto;
  proto.set_ir_version(8);  // ONNX 1.10-1.12: the IR of opsets 15-17
  proto.set_producer_name(model.producer);
  auto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(model.opset);
  pb::GraphProto* g = proto.mutable_graph();
  g->set_name(model.graph_name);
  for (const auto& [name, t] : model.initializers) tensor_to_proto(name, t, *g->add_initializer());
  for (const ValueInfo& v : model.inputs) value_to_proto(v, *g->add_input());
  for (const ValueInfo& v : model.outputs) value_to_proto(v, *g->add_output());
  for (const Node& n : model.nodes) {
    pb::NodeProto* p = g->add_node();
    p->set_name(n.name);
    p->set_op_type(n.op_type);
    for (const std::string& i : n.inputs) p->add_input(i);
    for (const std::string& o : n.outputs) p->add_output(o);
    for (const auto& [name, a] : n.attrs) {
      pb::AttributeProto* ap = p->add_attribute();
      ap->set_name(name);
      switch (a.kind) {
        case Attr::Kind::int_:
          ap->set_type(pb::AttributeProto_AttributeType_INT);
          ap->set_i(a.i);
          break;
        case Attr::Kind::float_:
          ap->set_type(pb::AttributeProto_AttributeType_FLOAT);
          ap->set_f(a.f);
          break;
        case Attr::Kind::string:
          ap->set_type(pb::AttributeProto_AttributeType_STRING);
          ap->set_s(a.s);
          break;
        case Attr::Kind::ints:
          ap->set_type(pb::AttributeProto_AttributeType_INTS);
          for (auto v : a.ints) ap->add_ints(v);
          break;
        case Attr::Kind::floats:
          ap->set_type(pb::AttributeProto_AttributeType_FLOATS);
          for (auto v : a.floats) ap->add_floats(v);
          break;
        case Attr::Kind::tensor:
          ap->set_type(pb::AttributeProto_AttributeType_TENSOR);
          tensor_to_proto("", a.t, *ap->mutable_t());
          break;
        case Attr::Kind::other:
          break;
      }
    }
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw runtime_error("the ONNX model could not be serialized");
  return bytes;
}

Model read_model(const std::filesystem::path& path) {
  const std::string bytes = read_input_file(path, kMaxModelBytes, "ONNX models");
  return parse_model(bytes, path.string());
}

}  // namespace keel::onnx
