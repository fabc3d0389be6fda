# Live capture: libpcap on interfaces (always) and the eBPF TC backend (when the skeleton
# target from bpf/ exists, i.e. OFFPATH_EBPF=ON).
set(live_sources
  ${CMAKE_CURRENT_LIST_DIR}/live_source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pcap_live_source.cpp)
if(TARGET offpath_bpf_skel)
  list(APPEND live_sources ${CMAKE_CURRENT_LIST_DIR}/ebpf_source.cpp)
endif()

add_library(offpath_capture_live STATIC ${live_sources})
target_link_libraries(offpath_capture_live PUBLIC offpath_capture offpath_config
                      PkgConfig::PCAP)
if(TARGET offpath_bpf_skel)
  if(NOT TARGET PkgConfig::LIBBPF)
    pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
  endif()
  target_link_libraries(offpath_capture_live PRIVATE offpath_bpf_skel PkgConfig::LIBBPF)
  target_compile_definitions(offpath_capture_live PUBLIC OFFPATH_HAVE_EBPF=1)
  add_dependencies(offpath_capture_live offpath_bpf_skel_gen)
  # The ABI header, for tests and tools that read records.
  target_include_directories(offpath_capture_live PUBLIC ${PROJECT_SOURCE_DIR}/bpf)
endif()
