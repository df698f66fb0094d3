set(NN_LOSS_SOURCES loss_ops.cpp)
