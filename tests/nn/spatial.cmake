set(NN_SPATIAL_TESTS conv2d_test.cpp pool_test.cpp spatial_parity_test.cpp)
