set(NN_SPATIAL_SOURCES spatial_ops.cpp conv2d.cpp pool.cpp)
