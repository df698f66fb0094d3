/* The plugin boundary, in C.
 *
 * A plugin exports one function, keel_get_plugin_table, returning a table of C
 * structs: its name and version, one integer ABI version, and arrays of op
 * and codec entries, each a schema (C arrays of plain values) and function
 * pointers. Nothing else crosses: no C++ class, no standard-library object,
 * no exception. So a plugin built by another compiler or standard library
 * (clang with libc++, say) loads into a runner built by g++ with libstdc++.
 *
 * Plugin authors do not write this by hand: keel/plugin.hpp's KEEL_PLUGIN
 * turns the C++ API (keel::Op, keel::OpSchema, keel::Codec) into this table,
 * header-only, and keel/import.hpp turns a table back into C++ objects on the
 * host's side. See docs/abi.md for the rules of growth.
 *
 * Conventions:
 *  - Every call that can fail returns 0 on success and nonzero on failure,
 *    after passing one message to the keel_error it was given (the host
 *    copies it during the call: the plugin's buffer need not outlive it).
 *  - Strings are UTF-8 and NUL-terminated, except attribute strings and
 *    file contents, which carry their length. A null `const char*` is "".
 *  - Arrays are a pointer and a count; the pointer may be null when the
 *    count is 0.
 *  - Everything a table points to lives as long as the plugin stays loaded.
 *  - Arrays of entries are read with the element size the table declares,
 *    so later versions can append fields to an entry (docs/abi.md). */
#ifndef KEEL_ABI_H
#define KEEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one number a loader compares. Bumped only for a change an older host
 * cannot read: a field's meaning or position, a function's signature.
 * Appending a field at the end of a struct that declares its size is not a
 * bump (docs/abi.md). History: 1-3 were C++ descriptors; 4 is this table. */
#define KEEL_ABI_VERSION 4

/* The symbol a plugin exports. */
#define KEEL_PLUGIN_ENTRY_SYMBOL "keel_get_plugin_table"

/* `threw` is 1 when the failure was an exception the plugin caught (the
 * host reports it as "forward threw: ..."), 0 for a failed status. */
typedef struct keel_error {
  void* ctx;
  void (*set)(void* ctx, int32_t threw, const char* message);
} keel_error;

/* Values of keel::DType, keel::AttrType, keel::Init, keel::Role,
 * keel::Metric and keel::Statistic (keel/schema.hpp), by number. */
enum {
  KEEL_DTYPE_F32 = 0,
  KEEL_DTYPE_F64 = 1,
  KEEL_DTYPE_I32 = 2,
  KEEL_DTYPE_I64 = 3,
  KEEL_DTYPE_U8 = 4,
  KEEL_DTYPE_BOOL = 5
};
enum {
  KEEL_ATTR_INT = 0,
  KEEL_ATTR_FLOAT = 1,
  KEEL_ATTR_BOOL = 2,
  KEEL_ATTR_STRING = 3,
  KEEL_ATTR_INTS = 4,
  KEEL_ATTR_FLOATS = 5
};

/* A tensor's element type and shape; a negative dimension is a symbol
 * (keel::symbolic_dim). */
typedef struct keel_spec {
  int32_t dtype;
  int32_t rank;
  const int64_t* shape;
} keel_spec;

/* A tensor the host owns: 64-byte aligned, C order. `data` is null for a
 * gradient nobody needs. */
typedef struct keel_tensor {
  int32_t dtype;
  int32_t rank;
  const int64_t* shape;
  void* data;
} keel_tensor;

/* One attribute value; `type` says which field holds it. `count` is the
 * string's length in bytes, or the list's length. */
typedef struct keel_attr {
  const char* name;
  int32_t type;
  int32_t b;
  int64_t i;
  double f;
  const char* s;
  const int64_t* ints;
  const double* floats;
  size_t count;
} keel_attr;

typedef struct keel_port_spec {
  const char* name;
  const char* doc;
  int32_t differentiable;
} keel_port_spec;

typedef struct keel_attr_spec {
  const char* name;
  const char* doc;
  int32_t type;
  int32_t has_default; /* 0: the attribute is required */
  keel_attr default_value;
  int32_t has_min;
  int32_t has_max;
  double min;
  double max;
  const char* const* choices;
  size_t n_choices;
} keel_attr_spec;

typedef struct keel_param_spec {
  const char* name;
  const char* doc;
  int32_t init;
  int32_t trainable;
  int32_t statistic;
} keel_param_spec;

typedef struct keel_example_input {
  keel_spec spec;
  double low;
  double high;
  const double* values;
  size_t n_values;
} keel_example_input;

typedef struct keel_example_file {
  const char* name;
  const char* contents;
  size_t size;
} keel_example_file;

typedef struct keel_example {
  const char* doc;
  const keel_attr* attrs;
  size_t n_attrs;
  const keel_example_input* inputs;
  size_t n_inputs;
  const keel_example_file* files;
  size_t n_files;
  const char* rejects;
} keel_example;

typedef struct keel_op_schema {
  const char* name;
  const char* doc;
  const keel_port_spec* inputs;
  size_t n_inputs;
  const keel_port_spec* outputs;
  size_t n_outputs;
  const keel_attr_spec* attrs;
  size_t n_attrs;
  const keel_param_spec* params;
  size_t n_params;
  const keel_example* examples;
  size_t n_examples;
  int32_t has_backward;
  int32_t deterministic;
  int32_t inplace;
  int32_t role;
  int32_t metric;
  int32_t batch_statistics;
} keel_op_schema;

/* The specs or tensors of one kind of port (inputs, outputs, params, or
 * their gradients), in schema order. */
typedef struct keel_specs {
  const keel_spec* data;
  size_t count;
} keel_specs;

typedef struct keel_tensors {
  const keel_tensor* data;
  size_t count;
} keel_tensors;

/* infer: the plugin reports one output spec per schema output and one shape
 * per schema parameter, in order, through the two callbacks. */
typedef struct keel_infer_args {
  keel_specs inputs;
  void* ctx;
  void (*add_output)(void* ctx, int32_t dtype, int32_t rank, const int64_t* shape);
  void (*add_param_shape)(void* ctx, int32_t rank, const int64_t* shape);
} keel_infer_args;

typedef struct keel_prepare_args {
  keel_specs inputs, outputs, params;
  int32_t training;
} keel_prepare_args;

typedef struct keel_forward_args {
  keel_tensors inputs, outputs, params;
  int32_t training;
  uint64_t seed;
  uint64_t step;
} keel_forward_args;

/* Gradients are written, not accumulated; a grad_inputs tensor whose data
 * is null is a gradient nobody needs. */
typedef struct keel_backward_args {
  keel_tensors inputs, outputs, params;
  keel_tensors grad_outputs, grad_inputs, grad_params;
  uint64_t seed;
  uint64_t step;
} keel_backward_args;

/* Data-parallel training (docs/distributed.md): what the ranks of a run
 * share. `sum_f64` adds `count` doubles across every rank in place, in rank
 * order, so every rank gets the same bits; every rank must call it the same
 * number of times in the same order (ops run one at a time in such a run).
 * It returns 0, or nonzero when the ranks lost each other.
 * `sync_batch_statistics` is 1 when the run asks every op with batch
 * statistics to compute them over the global batch (train.distributed). */
typedef struct keel_collective {
  void* ctx;
  int32_t rank;
  int32_t ranks;
  int32_t sync_batch_statistics;
  int (*sum_f64)(void* ctx, double* data, size_t count);
} keel_collective;

/* One op. `create` (given the entry's `context`) returns an instance, or
 * null after setting the error; the other functions take the instance;
 * `destroy` ends it. The attributes given to create are complete (defaults
 * filled in) and checked against the schema. */
typedef struct keel_op_entry {
  const keel_op_schema* schema;
  void* context;
  void* (*create)(void* context, const keel_attr* attrs, size_t n_attrs, keel_error* error);
  void (*destroy)(void* op);
  int (*infer)(const void* op, const keel_infer_args* args, keel_error* error);
  int (*prepare)(void* op, const keel_prepare_args* args, keel_error* error);
  int (*forward)(void* op, const keel_forward_args* args, keel_error* error);
  int (*backward)(void* op, const keel_backward_args* args, keel_error* error);
  /* Appended (SDK 2.1): the run's collective, given before `prepare` in a
   * data-parallel run and living as long as the instance. Read only when
   * op_entry_size covers it; null or absent: the op runs as on one process. */
  int (*set_collective)(void* op, const keel_collective* collective, keel_error* error);
} keel_op_entry;

/* The entry size every runner of this ABI accepts: up to `backward`. */
#define KEEL_OP_ENTRY_MIN_SIZE (offsetof(keel_op_entry, set_collective))

/* Byte streams for codecs, implemented by the host. read returns the bytes
 * read (0 at the end), or -1 on an error; seek (whence as fseek's) returns
 * the new position or -1 when the stream cannot seek; write returns 0 when
 * every byte was written. */
typedef struct keel_reader {
  void* ctx;
  int64_t (*read)(void* ctx, void* buffer, size_t size);
  int64_t (*seek)(void* ctx, int64_t offset, int whence);
} keel_reader;

typedef struct keel_writer {
  void* ctx;
  int (*write)(void* ctx, const void* data, size_t size);
} keel_writer;

/* Where a key comes from: exactly one is non-empty (keel::KeySource). */
typedef struct keel_codec_options {
  const char* key_file;
  const char* passphrase_env;
  int64_t ttl_seconds;
} keel_codec_options;

typedef struct keel_codec_entry {
  const char* name;
  const char* doc;
  void* context;
  void* (*create)(void* context, keel_error* error);
  void (*destroy)(void* codec);
  int (*recognizes)(const void* codec, const uint8_t* head, size_t size);
  int (*check_key)(const void* codec, const keel_codec_options* options, keel_error* error);
  int (*seal)(void* codec, const keel_reader* in, const keel_writer* out, const keel_codec_options* options,
              keel_error* error);
  int (*open)(void* codec, const keel_reader* in, const keel_writer* out, const keel_codec_options* options,
              keel_error* error);
  int (*keygen)(void* codec, const keel_writer* out, keel_error* error);
  int (*files_supported)(const void* codec);
  int (*seal_files)(void* codec, int in_fd, int out_fd, const keel_codec_options* options, keel_error* error);
  int (*open_files)(void* codec, int in_fd, int out_fd, const keel_codec_options* options, keel_error* error);
} keel_codec_entry;

/* abi_version and table_size come first and keep their places forever, so
 * any loader can read any plugin's version and refuse it in one line. */
typedef struct keel_plugin_table {
  uint32_t abi_version;
  uint32_t table_size; /* sizeof the table the plugin was built with */
  const char* name;
  const char* version;
  /* Non-null: building the table failed (a schema threw); the rest is empty. */
  const char* error;
  const keel_op_entry* ops;
  size_t n_ops;
  size_t op_entry_size; /* stride of `ops`, sizeof(keel_op_entry) when built */
  const keel_codec_entry* codecs;
  size_t n_codecs;
  size_t codec_entry_size;
} keel_plugin_table;

typedef const keel_plugin_table* (*keel_get_plugin_table_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_ABI_H */
