# keel_plugin_test(PLUGIN SOURCES src... [DEPS lib...])
#
# The op tests of a bundled plugin, as one test binary test_<PLUGIN>:
#   - linked against the objects the module is made of (keel_<PLUGIN>_ops,
#     from keel_add_plugin's OBJECTS), so the tests run what the plugin ships;
#   - KEEL_<PLUGIN>_PLUGIN_PATH names the built module, which plugin_test.cpp
#     loads as a runner would;
#   - with the plugin's entry file compiled in (keel_plugin_entry), so the
#     tests obtain their ops through the plugin's own C table (plugin_ops.hpp);
#   - plus a test that the module exports only keel_get_plugin_table.

# Adds PLUGIN's entry sources (keel_add_plugin's SOURCES: the KEEL_PLUGIN line
# that defines keel_get_plugin_table) to TARGET.
function(keel_plugin_entry target plugin)
  get_target_property(dir keel_plugin_${plugin} SOURCE_DIR)
  get_target_property(sources keel_plugin_${plugin} SOURCES)
  foreach(src IN LISTS sources)
    cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY ${dir})
    target_sources(${target} PRIVATE ${src})
  endforeach()
endfunction()

function(keel_plugin_test plugin)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  keel_test(${plugin} SOURCES ${ARG_SOURCES} DEPS keel_${plugin}_ops ${ARG_DEPS} ${CMAKE_DL_LIBS})
  keel_plugin_entry(test_${plugin} ${plugin})
  add_dependencies(test_${plugin} keel_plugin_${plugin})
  string(TOUPPER ${plugin} upper)
  target_compile_definitions(test_${plugin} PRIVATE
    KEEL_${upper}_PLUGIN_PATH="$<TARGET_FILE:keel_plugin_${plugin}>")
  add_test(NAME "${plugin}.the plugin module exports only keel_get_plugin_table"
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DPLUGIN=$<TARGET_FILE:keel_plugin_${plugin}>
            -P ${PROJECT_SOURCE_DIR}/tests/nn/check_exports.cmake)
endfunction()
