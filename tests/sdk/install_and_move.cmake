# cmake -DBUILD_DIR=... -DWORK_DIR=... -P install_and_move.cmake
# Installs the build to WORK_DIR/staged, then renames that to WORK_DIR/moved:
# what works afterwards works from any prefix.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/staged
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}\n${err}")
endif()
file(RENAME ${WORK_DIR}/staged ${WORK_DIR}/moved)
