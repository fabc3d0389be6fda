// offpath: passive HTTP/1.x and HTTP/2 (h2c) sniffer. See README.md.
#include "pipeline/app.hpp"

int main(int argc, char** argv) { return offpath::run_offpath(argc, argv); }
