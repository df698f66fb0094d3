set(NN_LAYER_SOURCES layer_ops.cpp linear.cpp activations.cpp softmax.cpp reshape.cpp)
