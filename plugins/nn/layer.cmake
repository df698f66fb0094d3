set(NN_LAYER_SOURCES layer_ops.cpp)
