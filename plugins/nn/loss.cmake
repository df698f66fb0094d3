set(NN_LOSS_SOURCES loss_ops.cpp losses.cpp dropout.cpp standardize.cpp)
