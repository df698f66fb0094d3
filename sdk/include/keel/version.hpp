// The SDK's version, which is also the project's (CMake reads it from here).
// Major: a plugin's sources need editing; minor: additions; patch: fixes.
// The plugin boundary has its own single number, KEEL_ABI_VERSION in
// keel/abi.h: a plugin built with any SDK of the same ABI version loads
// (docs/abi.md).
#pragma once

#include "keel/abi.h"

#define KEEL_SDK_VERSION_MAJOR 2
#define KEEL_SDK_VERSION_MINOR 1
#define KEEL_SDK_VERSION_PATCH 0
#define KEEL_SDK_VERSION_STRING "2.1.0"
