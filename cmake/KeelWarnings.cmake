# Warnings for our own targets only (never for dependencies' headers, which
# come in as SYSTEM includes through their imported targets).
function(keel_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers)
endfunction()
