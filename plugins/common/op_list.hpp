// One registration list per plugin. A plugin's <plugin>_ops.hpp names its
// ops once, as an X-macro:
//
//   #define KEEL_NORM_OPS(X) X(batchnorm) X(layernorm)
//   KEEL_NORM_OPS(KEEL_DECLARE_OP)
//
// and its entry point registers them all:
//
//   KEEL_DEFINE_REGISTER(register_ops, keel::norm, KEEL_NORM_OPS)
//   KEEL_PLUGIN("batchnorm", "1.0.0", register_ops)
//
// Each op's file defines `OpSchema <op>_schema()` and
// `std::unique_ptr<Op> <op>_factory(const Attrs&)`.
//
// A factory reads its attributes as the engine passes them, every declared
// default filled in (keel/op.hpp), so no factory restates a default: the
// schema is the one place a default lives. What is registered (and what
// tests call) is make_<op>, which fills the schema's defaults first, as the
// engine does, so a caller that passes fewer attributes (a test loading the
// module) gets the same op.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::plugin_util {

// `given` plus the schema's default of every attribute it leaves out.
inline Attrs with_defaults(const OpSchema& schema, const Attrs& given) {
  auto values = given.values();
  for (const AttrSpec& a : schema.attrs)
    if (a.default_value) values.emplace(a.name, *a.default_value);
  return Attrs(std::move(values));
}

// A schema's name, doc and ports; the rest is set field by field.
inline OpSchema schema(std::string name, std::string doc, std::vector<PortSpec> inputs,
                       std::vector<PortSpec> outputs) {
  return OpSchema{std::move(name), std::move(doc), std::move(inputs), std::move(outputs)};
}

}  // namespace keel::plugin_util

#define KEEL_DECLARE_OP(op)                                                        \
  OpSchema op##_schema();                                                          \
  std::unique_ptr<Op> op##_factory(const Attrs& attrs);                            \
  inline std::unique_ptr<Op> make_##op(const Attrs& attrs) {                       \
    return op##_factory(::keel::plugin_util::with_defaults(op##_schema(), attrs)); \
  }

#define KEEL_REGISTER_OP(op) registrar.add(op##_schema(), make_##op);

// Defines `static void fn(keel::Registrar&)` adding every op of LIST, in
// order, with its schema and factory from namespace `ns`.
#define KEEL_DEFINE_REGISTER(fn, ns, LIST)       \
  static void fn(::keel::Registrar& registrar) { \
    using namespace ns;                          \
    LIST(KEEL_REGISTER_OP)                       \
  }
