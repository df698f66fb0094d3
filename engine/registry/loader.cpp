#include "registry/loader.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/input_check.hpp"
#include "keel/abi.h"
#include "keel/import.hpp"

namespace keel {
namespace {

namespace fs = std::filesystem;

// Names a file as the user knows it, so every message starts the same way.
std::string file_str(const fs::path& file) { return file.string(); }

// Best effort: a readable C++ name next to the mangled one, which is what the
// plugin author's sources say.
std::string describe_symbol(const std::string& mangled) {
  int status = 0;
  char* plain = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  std::string out = mangled;
  if (status == 0 && plain && mangled != plain) out += std::string(" (") + plain + ")";
  std::free(plain);
  return out;
}

// dlerror() says "<path>: <reason>" for most failures; the reason alone is
// what the user needs, since our message names the file already.
[[noreturn]] void throw_load_failure(const fs::path& file, const fs::path& opened, std::string text) {
  const std::string f = file_str(file);
  for (const std::string& prefix : {opened.string() + ": ", f + ": "})
    if (text.rfind(prefix, 0) == 0) {
      text.erase(0, prefix.size());
      break;
    }
  static constexpr std::string_view not_elf[] = {"invalid ELF header",
                                                 "file too short",
                                                 "wrong ELF class",
                                                 "ELF load command",
                                                 "only ET_DYN and ET_EXEC can be loaded",
                                                 "ELF file"};
  for (std::string_view marker : not_elf)
    if (text.find(marker) != std::string::npos)
      throw usage_error(f + ": not a shared library (" + text + ")");
  static constexpr std::string_view undefined = "undefined symbol: ";
  if (auto at = text.find(undefined); at != std::string::npos) {
    std::string symbol = text.substr(at + undefined.size());
    // glibc appends ", version V" for versioned symbols.
    symbol = symbol.substr(0, symbol.find_first_of(", \t"));
    throw usage_error(f + ": cannot be loaded: undefined symbol " + describe_symbol(symbol));
  }
  throw usage_error(f + ": cannot be loaded: " + text);
}

// A descriptor closed when it goes out of scope.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A loaded library and, when it was loaded from a checked copy, that copy:
// declared first, so it is closed only after the library is unloaded (while
// the library is loaded, its descriptor number must not name another file,
// since the dynamic linker knows the library by that name).
struct LoadedLibrary {
  UniqueFd copy;
  boost::dll::shared_library lib;
};

[[noreturn]] void throw_errno(const fs::path& file, const std::string& what) {
  throw usage_error(file_str(file) + ": " + what + ": " + std::strerror(errno));
}

// The library's bytes in a sealed memory file: read once through one
// descriptor, then made unchangeable (no write, grow or shrink), so that the
// input check sees exactly the bytes the dynamic linker maps from it,
// whatever happens to the file on disk meanwhile.
UniqueFd sealed_copy(const fs::path& file) {
  UniqueFd src(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (src.get() < 0) throw_errno(file, "cannot be read");
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) throw_errno(file, "cannot be read");
  if (!S_ISREG(st.st_mode)) throw usage_error(file_str(file) + ": not a regular file");
  const std::string name = "keel-plugin:" + file.filename().string();
  UniqueFd copy(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (copy.get() < 0) throw_errno(file, "cannot be copied for checking");
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t got = ::read(src.get(), buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw_errno(file, "cannot be read");
    if (got == 0) break;
    for (ssize_t done = 0; done < got;) {
      const ssize_t put = ::write(copy.get(), buf.data() + done, static_cast<std::size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) throw_errno(file, "cannot be copied for checking");
      done += put;
    }
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
    throw_errno(file, "cannot seal its copy for checking");
  return copy;
}

LoadedLibrary open_library(const fs::path& file) {
  std::error_code fec;
  const fs::file_status st = fs::status(file, fec);
  if (st.type() == fs::file_type::not_found) throw usage_error("plugin file not found: " + file_str(file));
  if (!fs::exists(st)) throw usage_error(file_str(file) + ": cannot be read: " + fec.message());
  if (!fs::is_regular_file(st)) throw usage_error(file_str(file) + ": not a regular file");

  LoadedLibrary loaded;
  fs::path opened;
  if (const InputCheck* check = input_check()) {
    loaded.copy = sealed_copy(file);
    check->check_fd(loaded.copy.get(), file);
    opened = "/proc/self/fd/" + std::to_string(loaded.copy.get());
  } else {
    // The dynamic linker remembers each library by the name it was opened
    // with; an absolute one does not depend on the current folder.
    opened = fs::absolute(file, fec);
  }
  boost::dll::fs::error_code ec;
  (void)dlerror();  // drop any stale message so the one read below is ours
  loaded.lib.load(boost::dll::fs::path(opened.string()), ec,
                  boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !loaded.lib.is_loaded()) {
    // The error_code overload leaves dlerror() unread: it has the real reason.
    const char* why = dlerror();
    throw_load_failure(file, opened, why ? why : ec.message());
  }
  return loaded;
}

// Reads the table's fixed head and sizes; every refusal is one line naming
// the file. Only abi_version and table_size have a place every version of
// the table agrees on.
void check_table(const fs::path& file, const keel_plugin_table* t) {
  const std::string f = file_str(file);
  if (!t) throw usage_error(f + ": '" KEEL_PLUGIN_ENTRY_SYMBOL "' returned no table");
  if (t->abi_version != KEEL_ABI_VERSION)
    throw usage_error(f + ": built for plugin ABI version " + std::to_string(t->abi_version) +
                      ", this runner needs " + std::to_string(KEEL_ABI_VERSION));
  if (t->table_size < kMinPluginTableSize)
    throw usage_error(f + ": plugin table is " + std::to_string(t->table_size) +
                      " bytes, this runner needs at least " + std::to_string(kMinPluginTableSize));
  if (!t->name || !*t->name) throw usage_error(f + ": plugin table has no name");
  const ErrorSubject who{"", "", t->name};
  if (!t->version || !*t->version) throw usage_error(f + ": plugin table has no version", {}, who);
  if (t->error) throw usage_error(f + ": " + printable(t->error), {}, who);
  // Entries from before set_collective was appended are read too (import.hpp
  // leaves what they lack null).
  if (t->n_ops && (!t->ops || t->op_entry_size < KEEL_OP_ENTRY_MIN_SIZE))
    throw usage_error(f + ": op entries are " + std::to_string(t->op_entry_size) +
                          " bytes, this runner needs at least " + std::to_string(KEEL_OP_ENTRY_MIN_SIZE),
                      {}, who);
  const bool has_codecs = table_has_codecs(*t);
  if (has_codecs && t->n_codecs && (!t->codecs || t->codec_entry_size < sizeof(keel_codec_entry)))
    throw usage_error(f + ": codec entries are " + std::to_string(t->codec_entry_size) +
                          " bytes, this runner needs at least " + std::to_string(sizeof(keel_codec_entry)),
                      {}, who);
}

// The first function an op entry lacks, or null.
const char* missing_function(const keel_op_entry& e) {
  if (!e.create) return "factory";
  if (!e.destroy) return "destroy function";
  if (!e.infer) return "infer function";
  if (!e.prepare) return "prepare function";
  if (!e.forward) return "forward function";
  if (!e.backward) return "backward function";
  return nullptr;
}

const char* missing_function(const keel_codec_entry& e) {
  const void* fns[] = {
      reinterpret_cast<const void*>(e.create),     reinterpret_cast<const void*>(e.destroy),
      reinterpret_cast<const void*>(e.recognizes), reinterpret_cast<const void*>(e.check_key),
      reinterpret_cast<const void*>(e.seal),       reinterpret_cast<const void*>(e.open),
      reinterpret_cast<const void*>(e.keygen),     reinterpret_cast<const void*>(e.files_supported),
      reinterpret_cast<const void*>(e.seal_files), reinterpret_cast<const void*>(e.open_files)};
  for (const void* fn : fns)
    if (!fn) return "factory or function";
  return nullptr;
}

template <class Entry>
const Entry& entry_at(const void* base, std::size_t stride, std::size_t i) {
  return *reinterpret_cast<const Entry*>(static_cast<const unsigned char*>(base) + i * stride);
}

// The first spec name that is empty or repeated, described for a message.
template <class Spec>
std::string name_defect(const std::vector<Spec>& specs, const char* kind) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string& n = specs[i].name;
    if (n.empty()) return std::string(kind) + " #" + std::to_string(i + 1) + " has an empty name";
    if (!seen.insert(n).second) return std::string(kind) + " '" + n + "' is declared twice";
  }
  return {};
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool numeric(AttrType t) {
  return t == AttrType::Int || t == AttrType::Float || t == AttrType::Ints || t == AttrType::Floats;
}

// Whether every number in a default lies within [min, max].
bool default_in_bounds(const AttrSpec& a) {
  auto ok = [&](double v) { return (!a.min || v >= *a.min) && (!a.max || v <= *a.max); };
  const AttrValue& v = *a.default_value;
  if (auto* i = std::get_if<std::int64_t>(&v)) return ok(static_cast<double>(*i));
  if (auto* d = std::get_if<double>(&v)) return ok(*d);
  if (auto* is = std::get_if<std::vector<std::int64_t>>(&v))
    return std::all_of(is->begin(), is->end(), [&](std::int64_t x) { return ok(static_cast<double>(x)); });
  if (auto* ds = std::get_if<std::vector<double>>(&v)) return std::all_of(ds->begin(), ds->end(), ok);
  return true;
}

std::string attr_defect(const AttrSpec& a) {
  const std::string at = "attribute '" + a.name + "' ";
  const std::string type = attr_type_name(a.type);
  if (a.default_value && a.default_value->index() != static_cast<std::size_t>(a.type))
    return at + "is " + type + " but its default is " +
           attr_type_name(static_cast<AttrType>(a.default_value->index()));
  if ((a.min || a.max) && !numeric(a.type)) return at + "is " + type + " but has bounds";
  if ((a.min && std::isnan(*a.min)) || (a.max && std::isnan(*a.max))) return at + "has a NaN bound";
  if (a.min && a.max && *a.min > *a.max) return at + "has min " + number(*a.min) + " > max " + number(*a.max);
  if (!a.choices.empty() && a.type != AttrType::String) return at + "is " + type + " but has choices";
  if (a.default_value && !default_in_bounds(a)) return at + "has a default outside its bounds";
  if (a.default_value && !a.choices.empty()) {
    const auto& s = std::get<std::string>(*a.default_value);
    if (std::find(a.choices.begin(), a.choices.end(), s) == a.choices.end())
      return at + "has default '" + s + "', which is not one of its choices (" + joined(a.choices) + ")";
  }
  return {};
}

// Numbers read from a C table that name no value of their enum: a plugin
// from a newer SDK of the same ABI, or a table written by hand.
std::string enum_defect(const OpSchema& s) {
  auto number = [](auto v) { return std::to_string(static_cast<unsigned>(v)); };
  if (!enum_in_range(s.role, Role::guard)) return "declares an unknown role " + number(s.role);
  if (!enum_in_range(s.metric, Metric::r2)) return "declares an unknown metric " + number(s.metric);
  for (const AttrSpec& a : s.attrs)
    if (!enum_in_range(a.type, AttrType::Floats))
      return "attribute '" + a.name + "' has an unknown type " + number(a.type);
  for (const ParamSpec& p : s.params) {
    if (!enum_in_range(p.init, Init::XavierUniform))
      return "parameter '" + p.name + "' has an unknown init " + number(p.init);
    if (!enum_in_range(p.statistic, Statistic::max))
      return "parameter '" + p.name + "' has an unknown statistic " + number(p.statistic);
  }
  for (const OpExample& x : s.examples)
    for (const ExampleInput& in : x.inputs)
      if (!enum_in_range(in.spec.dtype, DType::boolean)) return "has an example input of unknown dtype";
  return {};
}

std::string schema_defect(const OpEntry& e) {
  const OpSchema& s = e.schema;
  if (auto defect = enum_defect(s); !defect.empty()) return defect;
  for (auto defect : {name_defect(s.inputs, "input"), name_defect(s.outputs, "output"),
                      name_defect(s.attrs, "attribute"), name_defect(s.params, "parameter")})
    if (!defect.empty()) return defect;
  for (const AttrSpec& a : s.attrs)
    if (auto defect = attr_defect(a); !defect.empty()) return defect;
  return {};
}

void check_schemas(const fs::path& file, const std::string& plugin, const std::vector<OpEntry>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& op = entries[i].schema.name;
    if (op.empty())
      throw usage_error(file_str(file) + ": op #" + std::to_string(i + 1) + " has an empty name", {},
                        {"", "", plugin});
    if (auto defect = schema_defect(entries[i]); !defect.empty())
      throw usage_error(file_str(file) + ": op '" + op + "' " + defect, {}, {"", op, plugin});
  }
}

void load_plugin_unguarded(Registry& registry, const fs::path& file) {
  const std::string f = file_str(file);
  LoadedLibrary loaded = open_library(file);
  boost::dll::shared_library& lib = loaded.lib;
  if (!lib.has(KEEL_PLUGIN_ENTRY_SYMBOL)) {
    // Plugins of SDK 1.x exported a C++ descriptor under another name.
    if (lib.has("keel_plugin_descriptor"))
      throw usage_error(f +
                        ": built for the C++ plugin boundary of Keel 1.x (symbol 'keel_plugin_descriptor'); "
                        "rebuild it against this SDK");
    throw usage_error(f + ": not a Keel plugin: no '" KEEL_PLUGIN_ENTRY_SYMBOL "' symbol");
  }
  // A C function: nothing can be thrown across it.
  auto& entry = lib.get<const keel_plugin_table*()>(KEEL_PLUGIN_ENTRY_SYMBOL);
  const keel_plugin_table* t = entry();
  check_table(file, t);

  auto info = std::make_shared<PluginInfo>();
  info->name = t->name;
  info->version = t->version;
  info->file = file;
  const ErrorSubject who{"", "", info->name};

  for (std::size_t i = 0; i < t->n_ops; ++i) {
    const auto& e = entry_at<keel_op_entry>(t->ops, t->op_entry_size, i);
    if (!e.schema || !e.schema->name || !*e.schema->name)
      throw usage_error(f + ": op #" + std::to_string(i + 1) + " has an empty name", {}, who);
    if (const char* missing = missing_function(e))
      throw usage_error(f + ": op '" + printable(e.schema->name) + "' has no " + missing, {},
                        {"", e.schema->name, info->name});
  }
  const bool has_codecs = table_has_codecs(*t);
  for (std::size_t i = 0; has_codecs && i < t->n_codecs; ++i) {
    const auto& e = entry_at<keel_codec_entry>(t->codecs, t->codec_entry_size, i);
    if (!e.name || !*e.name)
      throw usage_error(f + ": codec #" + std::to_string(i + 1) + " has an empty name", {}, who);
    if (missing_function(e))
      throw usage_error(f + ": codec '" + printable(e.name) + "' has no factory", {}, who);
  }

  ImportedPlugin imported = import_plugin(*t);
  std::vector<OpEntry> ops;
  for (ImportedOpEntry& op : imported.ops) {
    OpEntry e;
    e.schema = std::move(op.schema);
    e.factory = std::move(op.make);
    ops.push_back(std::move(e));
  }
  check_schemas(file, info->name, ops);
  std::vector<CodecEntry> codecs;
  for (ImportedCodecEntry& c : imported.codecs)
    codecs.push_back({std::move(c.name), std::move(c.doc), std::move(c.make), nullptr});

  info->library = std::make_shared<LoadedLibrary>(std::move(loaded));
  registry.add_plugin(std::move(info), std::move(ops), std::move(codecs));
}

bool is_plugin_file_name(const std::string& name) { return name.size() > 3 && name.ends_with(".so"); }

// Absolute and with symlinks resolved where the path exists, so that two
// spellings of one folder compare equal.
fs::path normalized(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  fs::path canon = fs::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : canon;
}

}  // namespace

fs::path module_dir() {
  boost::dll::fs::error_code ec;
  const boost::dll::fs::path exe = boost::dll::program_location(ec);
  if (ec) return {};
  return (fs::path(exe.string()).parent_path() / ".." / "lib" / "keel").lexically_normal();
}

void* load_module_symbol(const fs::path& file, const char* symbol) {
  // Never unloaded: such a library (MPI's) may keep threads and handlers
  // that must outlive every call into it.
  static std::vector<std::unique_ptr<LoadedLibrary>> kept;
  auto loaded = std::make_unique<LoadedLibrary>(open_library(file));
  if (!loaded->lib.has(symbol)) throw usage_error(file_str(file) + ": has no '" + symbol + "' symbol");
  void* address = reinterpret_cast<void*>(loaded->lib.get<void()>(symbol));
  kept.push_back(std::move(loaded));
  return address;
}

fs::path bundled_plugin_dir() {
  boost::dll::fs::error_code ec;
  const boost::dll::fs::path exe = boost::dll::program_location(ec);
  if (ec) return {};  // unknown: only the user's folders are searched
  fs::path dir = fs::path(exe.string()).parent_path() / ".." / "lib" / "keel" / "plugins";
  std::error_code fec;
  fs::path canon = fs::canonical(dir, fec);
  return fec ? dir.lexically_normal() : canon;
}

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& cli_dirs, const WarningSink& warn) {
  std::vector<fs::path> candidates;
  candidates.push_back(bundled_plugin_dir());
  if (const char* env = std::getenv("KEEL_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (true) {
      const std::size_t colon = rest.find(':');
      const std::string_view entry = rest.substr(0, colon);
      if (!entry.empty()) {
        candidates.emplace_back(std::string(entry));
        // Resolved against whatever folder keel is started from: another
        // folder can hold other code under the same name.
        if (candidates.back().is_relative() && warn)
          warn("KEEL_PLUGIN_PATH entry '" + printable(entry) +
               "' is a relative folder: which plugins load depends on the working folder; use an absolute "
               "path");
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  for (const fs::path& dir : cli_dirs) {
    std::error_code ec;
    if (!fs::exists(dir, ec))
      throw usage_error("--plugin-path '" + printable(dir.string()) + "' does not exist");
  }
  candidates.insert(candidates.end(), cli_dirs.begin(), cli_dirs.end());

  std::vector<fs::path> out;
  std::set<fs::path> seen;
  for (const fs::path& c : candidates) {
    if (c.empty()) continue;
    fs::path n = normalized(c);
    if (seen.insert(n).second) out.push_back(std::move(n));
  }
  return out;
}

void load_plugin(Registry& registry, const fs::path& file) {
  try {
    load_plugin_unguarded(registry, file);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // Boost.DLL and the filesystem report through system_error; nothing but
    // keel::Error leaves the loader.
    throw usage_error(file_str(file) + ": cannot be loaded: " + e.what());
  }
}

namespace {

// Group- or world-writable: someone else could put code there that this
// process would run.
void warn_if_writable_by_others(Registry& registry, const fs::path& path, const char* what,
                                const WarningSink& warn) {
  std::error_code ec;
  const fs::perms p = fs::status(path, ec).permissions();
  if (ec || (p & (fs::perms::group_write | fs::perms::others_write)) == fs::perms::none) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(p) & 07777u);
  registry.warnings.push_back(std::string(what) + " '" + printable(path.string(), 300) +
                              "' is writable by other users (mode " + mode +
                              "): anyone who can write there can run code as you; run chmod go-w on it");
  if (warn) warn(registry.warnings.back());
}

}  // namespace

void load_plugins(Registry& registry, const std::vector<fs::path>& dirs, std::vector<Error>* failures,
                  const WarningSink& warn, const PluginFilter& wanted) {
  for (const fs::path& dir : dirs) {
    registry.searched.push_back(dir);
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (!fs::exists(st)) continue;
    if (!fs::is_directory(st))
      throw usage_error("plugin folder '" + dir.string() + "' is a file, not a folder");
    warn_if_writable_by_others(registry, dir, "plugin folder", warn);

    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code sec;
      if (is_plugin_file_name(it->path().filename().string()) && it->is_regular_file(sec))
        files.push_back(it->path());
    }
    if (ec) throw usage_error("cannot read plugin folder '" + dir.string() + "': " + ec.message());
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    for (const fs::path& file : files) {
      warn_if_writable_by_others(registry, file, "plugin", warn);
      if (wanted && !wanted(file)) continue;
      if (!failures) {
        load_plugin(registry, file);
        continue;
      }
      try {
        load_plugin(registry, file);
      } catch (const Error& e) {
        failures->push_back(e);
      }
    }
  }
}

}  // namespace keel
