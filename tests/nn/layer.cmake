set(NN_LAYER_TESTS linear_test.cpp activation_test.cpp softmax_test.cpp reshape_test.cpp layer_parity_test.cpp)
