// The plugin boundary: one exported C symbol, `keel_plugin_descriptor`,
// returns a descriptor. The loader reads abi_version before anything else,
// then compares the build fingerprint field by field, and only then calls
// register_ops (and register_codecs, when the plugin has codecs: see
// keel/codec.hpp). Registration is explicit: nothing runs at library load time.
//
//   static void register_ops(keel::Registrar& r) {
//     r.add(my_schema(), keel::make_op<MyOp>);
//   }
//   KEEL_PLUGIN("myplugin", "0.1.0", register_ops)
#pragma once

#include <oneapi/dnnl/dnnl_version.h>

#include <cstddef>
#include <cstdint>

#include "keel/codec.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"
#include "keel/version.hpp"

namespace keel {

class __attribute__((visibility("default"))) Registrar {
 public:
  virtual void add(OpSchema schema, OpFactory factory) = 0;

 protected:
  ~Registrar() = default;
};

// Everything in this struct up to and including abi_version keeps its layout
// forever, so any loader can read a future plugin's version and refuse it.
struct PluginDescriptor {
  std::uint32_t abi_version;
  std::uint32_t struct_size;
  // Build fingerprint: all four must equal the runner's, or C++ objects would
  // cross a boundary between incompatible layouts.
  const char* compiler;    // e.g. "gcc 12"
  const char* stdlib_abi;  // e.g. "libstdc++ 12 cxx11"
  const char* sdk_version;
  const char* dnnl_version;
  const char* name;
  const char* version;
  void (*register_ops)(Registrar&);
  // Added in SDK 1.1 at the end, so the layout above is unchanged: the
  // loader reads this field only when struct_size covers it (a 1.0
  // descriptor ends before it). Null: the plugin has no codecs.
  void (*register_codecs)(CodecRegistrar&);
};

// The size of the descriptor as SDK 1.0 laid it out: the least a loader
// accepts.
inline constexpr std::size_t kPluginDescriptorMinSize = offsetof(PluginDescriptor, register_codecs);

#define KEEL_STRINGIFY_(x) #x
#define KEEL_STRINGIFY(x) KEEL_STRINGIFY_(x)

#if defined(__clang__)
#define KEEL_FINGERPRINT_COMPILER "clang " KEEL_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define KEEL_FINGERPRINT_COMPILER "gcc " KEEL_STRINGIFY(__GNUC__)
#else
#define KEEL_FINGERPRINT_COMPILER "unknown"
#endif

#if defined(_GLIBCXX_RELEASE)
#if _GLIBCXX_USE_CXX11_ABI
#define KEEL_FINGERPRINT_STDLIB "libstdc++ " KEEL_STRINGIFY(_GLIBCXX_RELEASE) " cxx11"
#else
#define KEEL_FINGERPRINT_STDLIB "libstdc++ " KEEL_STRINGIFY(_GLIBCXX_RELEASE) " legacy"
#endif
#elif defined(_LIBCPP_VERSION)
#define KEEL_FINGERPRINT_STDLIB "libc++ " KEEL_STRINGIFY(_LIBCPP_VERSION)
#else
#define KEEL_FINGERPRINT_STDLIB "unknown"
#endif

#define KEEL_FINGERPRINT_DNNL        \
  KEEL_STRINGIFY(DNNL_VERSION_MAJOR) \
  "." KEEL_STRINGIFY(DNNL_VERSION_MINOR) "." KEEL_STRINGIFY(DNNL_VERSION_PATCH)

}  // namespace keel

#define KEEL_PLUGIN_ENTRY_SYMBOL "keel_plugin_descriptor"

#define KEEL_PLUGIN_WITH_CODECS(plugin_name, plugin_version, register_fn, register_codecs_fn) \
  extern "C" __attribute__((visibility("default"))) const ::keel::PluginDescriptor*           \
  keel_plugin_descriptor() {                                                                  \
    static const ::keel::PluginDescriptor d{KEEL_ABI_VERSION,                                 \
                                            sizeof(::keel::PluginDescriptor),                 \
                                            KEEL_FINGERPRINT_COMPILER,                        \
                                            KEEL_FINGERPRINT_STDLIB,                          \
                                            KEEL_SDK_VERSION_STRING,                          \
                                            KEEL_FINGERPRINT_DNNL,                            \
                                            plugin_name,                                      \
                                            plugin_version,                                   \
                                            register_fn,                                      \
                                            register_codecs_fn};                              \
    return &d;                                                                                \
  }

#define KEEL_PLUGIN(plugin_name, plugin_version, register_fn) \
  KEEL_PLUGIN_WITH_CODECS(plugin_name, plugin_version, register_fn, nullptr)
