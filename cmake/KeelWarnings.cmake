# Warnings for our own targets only (never for dependencies' headers, which
# come in as SYSTEM includes through their imported targets).
function(keel_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>
                                           -Wno-missing-field-initializers)
  # GCC 12 reports `"literal" + std::string` as an overlapping memcpy
  # (-Wrestrict, GCC bug 105329) deep inside libstdc++: a false positive.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
