// Versions a plugin is built against. The ABI version is the first thing the
// loader compares; bump it whenever a type a plugin sees changes layout or a
// virtual function is added, removed or reordered (see docs/abi.md).
#pragma once

#define KEEL_SDK_VERSION_MAJOR 1
#define KEEL_SDK_VERSION_MINOR 2
#define KEEL_SDK_VERSION_PATCH 0
#define KEEL_SDK_VERSION_STRING "1.2.0"

// Integer ABI version of the plugin boundary (descriptor, Op, contexts).
// History: 1 first release; 2 OpSchema gained `guard` (anomaly guards) and
// `deterministic` and `examples` (the conformance kit's facts); 3 OpSchema gained
// `inplace` (in-place execution).
#define KEEL_ABI_VERSION 3
