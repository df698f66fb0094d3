# The build's own signing key, for the bundled plugins (KEEL_SIGN_PLUGINS).
#
# Made once, by the just-built `keel keygen --sign`, into
# ${CMAKE_BINARY_DIR}/signing/keel-build.key (mode 0600, in a 0700 folder,
# not encrypted: the build signs unattended) and keel-build.pub, and never
# made again while both are there. The public key is copied into the build
# tree's trust folder, share/keel/trust/ (the default trust folder of
# build/bin/keel), so a build trusts the plugins it signed; `cmake --install`
# puts it into <prefix>/share/keel/trust/.
#
# Sets KEEL_BUILD_SIGNING_KEY (the secret key file) and the target
# keel_build_key, which each bundled plugin depends on.
# Fixed, not GNUInstallDirs' datadir: the runner's default trust folder is
# exactly <prefix>/share/keel/trust (<prefix>/bin/keel -> ../share/keel/trust),
# and the build tree has the install's layout.
set(KEEL_TRUST_INSTALL_DIR share/keel/trust)
set(KEEL_BUILD_KEY_DIR ${CMAKE_BINARY_DIR}/signing)
set(KEEL_BUILD_SIGNING_KEY ${KEEL_BUILD_KEY_DIR}/keel-build.key)
set(KEEL_BUILD_TRUST_DIR ${CMAKE_BINARY_DIR}/${KEEL_TRUST_INSTALL_DIR})
set(keel_build_pub ${KEEL_BUILD_KEY_DIR}/keel-build.pub)

# No file dependency on the keel executable: relinking keel must not make a
# new key (keygen would refuse anyway). The target-level dependency below
# only orders the first run after keel is built.
add_custom_command(
  OUTPUT ${KEEL_BUILD_SIGNING_KEY} ${keel_build_pub}
  COMMAND ${CMAKE_COMMAND} -DKEEL=$<TARGET_FILE:keel> -DNAME=${KEEL_BUILD_KEY_DIR}/keel-build
          -P ${CMAKE_CURRENT_LIST_DIR}/KeelMakeBuildKey.cmake
  COMMENT "Making the build's plugin signing key (once): ${KEEL_BUILD_SIGNING_KEY}"
  VERBATIM)
add_custom_command(
  OUTPUT ${KEEL_BUILD_TRUST_DIR}/keel-build.pub
  COMMAND ${CMAKE_COMMAND} -E make_directory ${KEEL_BUILD_TRUST_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy ${keel_build_pub} ${KEEL_BUILD_TRUST_DIR}/keel-build.pub
  DEPENDS ${keel_build_pub}
  COMMENT "Trusting the build's signing key: ${KEEL_BUILD_TRUST_DIR}/keel-build.pub"
  VERBATIM)
add_custom_target(keel_build_key DEPENDS ${KEEL_BUILD_SIGNING_KEY} ${KEEL_BUILD_TRUST_DIR}/keel-build.pub)
add_dependencies(keel_build_key keel)

install(FILES ${KEEL_BUILD_TRUST_DIR}/keel-build.pub DESTINATION ${KEEL_TRUST_INSTALL_DIR})
