# offpath_gen_capture: the synthetic capture generator used by scripts/bench.sh.
add_executable(offpath_gen_capture ${CMAKE_CURRENT_LIST_DIR}/gen_capture.cpp)
target_link_libraries(offpath_gen_capture PRIVATE offpath_warnings)

# offpath_gen_flood: hostile captures for the memory tests (tests/replay/memory_floods.py).
add_executable(offpath_gen_flood ${CMAKE_CURRENT_LIST_DIR}/gen_flood.cpp)
target_link_libraries(offpath_gen_flood PRIVATE offpath_warnings)
