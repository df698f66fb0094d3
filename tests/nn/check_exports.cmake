# cmake -DNM=<nm> -DPLUGIN=<module> -P check_exports.cmake
# Fails unless the module's dynamic symbol table defines exactly the plugin
# entry point: anything more would leak the plugin's internals (and oneDNN's
# inline code) into the process's global symbol namespace.
execute_process(COMMAND ${NM} -D --defined-only ${PLUGIN}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${PLUGIN}: ${err}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${out}")
set(symbols "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] +" "" symbol "${line}")
  list(APPEND symbols "${symbol}")
endforeach()
if(NOT symbols STREQUAL "keel_get_plugin_table")
  message(FATAL_ERROR "${PLUGIN} exports [${symbols}]; expected only keel_get_plugin_table")
endif()
