set(NN_SPATIAL_SOURCES spatial_ops.cpp)
