# cmake -DKEEL=path/to/keel -DNAME=dir/keel-build -P KeelMakeBuildKey.cmake
#
# Makes the build's signing key pair NAME.key / NAME.pub with
# `keel keygen --sign`, unless both are there already: a build keeps its key
# (KeelBuildKey.cmake). Half a pair is an error, never silently replaced.
set(key ${NAME}.key)
set(pub ${NAME}.pub)
if(EXISTS ${key} AND EXISTS ${pub})
  return()
endif()
if(EXISTS ${key} OR EXISTS ${pub})
  get_filename_component(dir ${NAME} DIRECTORY)
  message(FATAL_ERROR "${NAME}: only one of .key and .pub is there; remove ${dir} to make a new build "
                      "signing key (every bundled plugin is then signed again)")
endif()
get_filename_component(dir ${NAME} DIRECTORY)
file(MAKE_DIRECTORY ${dir})
# Only the owner may look into the folder of a secret key.
file(CHMOD ${dir} DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
execute_process(COMMAND ${KEEL} keygen --sign ${NAME} -q RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${KEEL} keygen --sign ${NAME} failed (exit ${rc})")
endif()
