# keel_add_plugin(NAME SOURCES src... [LIBRARIES lib...])
#
# Builds a Keel operator plugin as a loadable module named keel_<NAME>.so:
# hidden visibility (only the entry symbol is exported, by a version
# script), -z,defs so a missing library is a link error instead of a load
# error, an $ORIGIN-relative RUNPATH, and output into the plugin folder the
# runner searches first.
set(KEEL_PLUGIN_EXPORTS ${CMAKE_CURRENT_LIST_DIR}/keel_plugin.exports)

function(keel_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  set(target keel_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  if(NOT ARG_OUTPUT_DIRECTORY)
    if(DEFINED KEEL_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIRECTORY ${KEEL_PLUGIN_OUTPUT_DIR})
    else()
      set(ARG_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    endif()
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME keel_${name}
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    BUILD_WITH_INSTALL_RPATH ON
    INSTALL_RPATH "$ORIGIN:$ORIGIN/../..")
  target_link_libraries(${target} PRIVATE keel::sdk ${ARG_LIBRARIES})
  target_link_options(${target} PRIVATE -Wl,-z,defs
                      -Wl,--version-script=${KEEL_PLUGIN_EXPORTS})
  if(COMMAND keel_warnings)
    keel_warnings(${target})
  endif()
endfunction()
