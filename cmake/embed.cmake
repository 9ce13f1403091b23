# nnbpf_embed_files(OUT_CC NAMESPACE FILES...): generate a .cc that holds each
# file's bytes, so the installed nnbpf binary needs no source tree at run time.
# The generated table maps "nnbpf/<file name>" to its contents.
function(nnbpf_embed_files out_cc)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT ${out_cc}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cc} "-DFILES=${files}"
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding BPF runtime sources"
    VERBATIM)
endfunction()
