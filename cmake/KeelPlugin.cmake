# keel_add_plugin(NAME SOURCES src... [OBJECTS src...] [LIBRARIES lib...]
#                 [OUTPUT_DIRECTORY dir] [SIGNING_KEY file]
#                 [SIGNING_PASSPHRASE_ENV var])
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
#     OUTPUT_DIRECTORY is given (test fixtures);
#   - signed after each link when SIGNING_KEY, else the variable
#     KEEL_SIGNING_KEY, names a secret key file (keel keygen --sign,
#     minisign -G): `keel sign` writes keel_<NAME>.so.minisig beside it,
#     which `cmake --install` installs beside the plugin. An encrypted key
#     takes SIGNING_PASSPHRASE_ENV, else KEEL_SIGNING_PASSPHRASE_ENV: the name
#     of the environment variable that holds its passphrase when the build
#     runs. The signer is the installed package's `keel` (KEEL_EXECUTABLE,
#     set by keelConfig.cmake), or in Keel's own tree the `keel` target.
#     A relative key path is taken from the top source folder. Any old
#     signature is removed before each link, so none outlives its file.
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
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY;SIGNING_KEY;SIGNING_PASSPHRASE_ENV"
                        "SOURCES;OBJECTS;LIBRARIES" ${ARGN})
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
  _keel_plugin_signing(${target} ${name})
endfunction()

# The signing step of keel_add_plugin (its ARG_* are visible here).
function(_keel_plugin_signing target name)
  set(signature "$<TARGET_FILE:${target}>.minisig")
  # A relinked plugin has no signature until it is signed again: a failed or
  # disabled signing step leaves it unsigned, never with a stale signature.
  add_custom_command(TARGET ${target} PRE_LINK COMMAND ${CMAKE_COMMAND} -E rm -f ${signature} VERBATIM)
  set(key ${ARG_SIGNING_KEY})
  if(NOT key)
    set(key ${KEEL_SIGNING_KEY})
  endif()
  if(NOT key)
    return()
  endif()
  get_filename_component(key "${key}" ABSOLUTE BASE_DIR ${CMAKE_SOURCE_DIR})
  if(DEFINED KEEL_EXECUTABLE)
    # An installed SDK: keelConfig.cmake's runner, found beside the package.
    if(NOT EXISTS ${KEEL_EXECUTABLE})
      message(FATAL_ERROR "keel_add_plugin(${name}): cannot sign: ${KEEL_EXECUTABLE} does not exist")
    endif()
    if(NOT EXISTS ${key})
      message(FATAL_ERROR "keel_add_plugin(${name}): signing key ${key} does not exist "
                          "(make one with: keel keygen --sign NAME)")
    endif()
    set(keel ${KEEL_EXECUTABLE})
  elseif(TARGET keel)
    # Keel's own tree: the runner built here signs (with the build's key,
    # which the build makes, so it need not exist yet).
    set(keel $<TARGET_FILE:keel>)
    add_dependencies(${target} keel)
  else()
    message(FATAL_ERROR "keel_add_plugin(${name}): cannot sign: no keel runner "
                        "(find_package(keel) sets KEEL_EXECUTABLE)")
  endif()
  set(passphrase_env ${ARG_SIGNING_PASSPHRASE_ENV})
  if(NOT passphrase_env)
    set(passphrase_env ${KEEL_SIGNING_PASSPHRASE_ENV})
  endif()
  set(passphrase_args "")
  if(passphrase_env)
    set(passphrase_args --passphrase-env ${passphrase_env})
  endif()
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${keel} sign $<TARGET_FILE:${target}> --secret-key ${key} ${passphrase_args} -q
    COMMENT "Signing keel_${name}${CMAKE_SHARED_MODULE_SUFFIX} with ${key}"
    VERBATIM)
  # Another key signs everything again.
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${key})
  if(NOT ARG_OUTPUT_DIRECTORY)
    install(FILES ${signature} DESTINATION ${KEEL_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
