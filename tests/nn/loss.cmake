set(NN_LOSS_TESTS loss_test.cpp dropout_test.cpp standardize_test.cpp loss_parity_test.cpp)
