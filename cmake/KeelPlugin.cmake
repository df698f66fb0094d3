# keel_add_plugin(NAME SOURCES src... [OBJECTS src...] [LIBRARIES lib...]
#                 [OUTPUT_DIRECTORY dir])
#
# Builds a Keel operator plugin as a loadable module named keel_<NAME>.so
# (target keel_plugin_<NAME>). The same file serves the source tree and the
# installed package (find_package(keel)), so in-tree and out-of-tree plugins
# are built alike:
#   - hidden visibility, and a version script that exports only the entry
#     symbol `keel_get_plugin_table`: nothing of the plugin can clash with
#     the runner or another plugin;
#   - -z,defs: a library the plugin forgot to link is a link error here, not
#     a load error on the user's machine;
#   - an $ORIGIN-relative RUNPATH ($ORIGIN, and the prefix's lib/ two levels
#     up from lib/keel/plugins), so a moved install keeps working;
#   - output into OUTPUT_DIRECTORY, else KEEL_PLUGIN_OUTPUT_DIR when the
#     project sets it (the source tree: build/lib/keel/plugins, the folder
#     the runner searches first), else the current binary folder;
#   - `cmake --install` puts it into <prefix>/lib/keel/plugins (the bundled
#     folder of a runner installed to the same prefix) unless
#     OUTPUT_DIRECTORY is given (test fixtures).
#
# OBJECTS: the ops' sources, built once into an object library keel_<NAME>_ops
# (same visibility and PIC as the module, LIBRARIES and this folder's headers
# passed on) that the module and the op tests both link, so the tests run the
# very objects the plugin ships; SOURCES then holds only the entry point.
set(KEEL_PLUGIN_EXPORTS ${CMAKE_CURRENT_LIST_DIR}/keel_plugin.exports)
# Fixed, not GNUInstallDirs' libdir: the runner looks exactly here
# (<prefix>/bin/keel -> <prefix>/lib/keel/plugins).
if(NOT DEFINED KEEL_PLUGIN_INSTALL_DIR)
  set(KEEL_PLUGIN_INSTALL_DIR lib/keel/plugins)
endif()

function(keel_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;OBJECTS;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "keel_add_plugin(${name}): SOURCES is required")
  endif()
  if(ARG_OBJECTS)
    set(objects keel_${name}_ops)
    add_library(${objects} OBJECT ${ARG_OBJECTS})
    set_target_properties(${objects} PROPERTIES
      POSITION_INDEPENDENT_CODE ON
      CXX_VISIBILITY_PRESET hidden
      VISIBILITY_INLINES_HIDDEN ON)
    target_include_directories(${objects} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${objects} PUBLIC keel::sdk ${ARG_LIBRARIES})
    if(COMMAND keel_warnings)
      keel_warnings(${objects})
    endif()
    set(ARG_LIBRARIES ${objects})
  endif()
  set(target keel_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  set(output_dir ${ARG_OUTPUT_DIRECTORY})
  if(NOT output_dir)
    if(DEFINED KEEL_PLUGIN_OUTPUT_DIR)
      set(output_dir ${KEEL_PLUGIN_OUTPUT_DIR})
    else()
      set(output_dir ${CMAKE_CURRENT_BINARY_DIR})
    endif()
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME keel_${name}
    LIBRARY_OUTPUT_DIRECTORY ${output_dir}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    BUILD_WITH_INSTALL_RPATH ON
    INSTALL_RPATH "$ORIGIN:$ORIGIN/../..")
  target_link_libraries(${target} PRIVATE keel::sdk ${ARG_LIBRARIES})
  target_link_options(${target} PRIVATE -Wl,-z,defs
                      -Wl,--version-script=${KEEL_PLUGIN_EXPORTS})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${KEEL_PLUGIN_EXPORTS})
  if(COMMAND keel_warnings)
    keel_warnings(${target})
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY)
    install(TARGETS ${target} LIBRARY DESTINATION ${KEEL_PLUGIN_INSTALL_DIR})
    # So that a project can make a target depend on everything it installs.
    set_property(GLOBAL APPEND PROPERTY KEEL_INSTALLED_PLUGINS ${target})
  endif()
endfunction()
