# offpath_gen_capture: the synthetic capture generator used by scripts/bench.sh.
add_executable(offpath_gen_capture ${CMAKE_CURRENT_LIST_DIR}/gen_capture.cpp)
target_link_libraries(offpath_gen_capture PRIVATE offpath_warnings)
