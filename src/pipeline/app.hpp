// The offpath program: parse the command line, open the source and the sink, run the
// pipeline until the input ends or a signal arrives, drain, print the summary. Called by
// main() on the main thread; returns the process exit code (0 ok, 2 bad usage or input).
#pragma once

namespace offpath {

int run_offpath(int argc, char** argv);

}  // namespace offpath
