// offpath: passive HTTP/1.x sniffer. See README.md.
#include "pipeline/app.hpp"

int main(int argc, char** argv) { return offpath::run_offpath(argc, argv); }
