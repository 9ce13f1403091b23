# Installation layout and the Debian package (tools/package.sh runs cpack -G DEB).
include(GNUInstallDirs)

install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/nnbpf@.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/nnbpf.conf.example DESTINATION share/doc/nnbpf/examples
        RENAME eth0.conf)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/nnbpf)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION share/doc/nnbpf
        FILES_MATCHING PATTERN "*.md" PATTERN "report" EXCLUDE)
# Per-command --help text, written by tools/package.sh before cpack.
install(DIRECTORY ${CMAKE_BINARY_DIR}/help/ DESTINATION share/doc/nnbpf/help OPTIONAL)

set(CPACK_PACKAGE_NAME nnbpf)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "nnbpf maintainers <nnbpf@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "neural-network intrusion detection and prevention in XDP/eBPF")
set(CPACK_PACKAGE_DESCRIPTION
    "nnbpf compiles ONNX intrusion-detection models into eBPF/XDP programs and runs them:\n per-flow features and integer inference in the kernel, blocking, hot model updates,\n a systemd service per interface (nnbpf@IFACE) and Prometheus metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Run-time needs beyond shared libraries: the compiler builds BPF objects
# in-process with clang's builtin headers, libbpf's and the kernel's UAPI
# headers.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libclang-common-19-dev, libbpf-dev, linux-libc-dev, libc6-dev")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "prometheus, xdp-tools")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
include(CPack)
