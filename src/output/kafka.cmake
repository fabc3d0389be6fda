# Kafka sink (librdkafka) with its on-disk spool: offpath_output_kafka.
# Included from src/output/CMakeLists.txt.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET GLOBAL rdkafka)
find_package(Threads REQUIRED)

add_library(offpath_output_kafka STATIC
  ${CMAKE_CURRENT_LIST_DIR}/kafka_sink.cpp
  ${CMAKE_CURRENT_LIST_DIR}/kafka_message.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spool.cpp)
target_link_libraries(offpath_output_kafka
  PUBLIC offpath_common PkgConfig::RDKAFKA Threads::Threads
  PRIVATE offpath_warnings spdlog::spdlog)
