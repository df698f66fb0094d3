// Everything a plugin author includes.
#pragma once

#include "keel/codec.hpp"
#include "keel/dtype.hpp"
#include "keel/op.hpp"
#include "keel/optimizer.hpp"
#include "keel/plugin.hpp"
#include "keel/schema.hpp"
#include "keel/status.hpp"
#include "keel/tensor.hpp"
#include "keel/version.hpp"
