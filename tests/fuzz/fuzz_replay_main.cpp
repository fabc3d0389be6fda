// fuzz_replay: runs LLVMFuzzerTestOneInput over every file of the given directories (the
// seed corpus and every crash input kept as a regression), with any compiler, so that
// CTest replays them on each build. `--write-seeds DIR` writes the generated seeds.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
std::vector<std::pair<std::string, std::string>> offpath_fuzz_seeds();

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--write-seeds") {
    for (const auto& [name, bytes] : offpath_fuzz_seeds()) {
      std::ofstream(fs::path(args[1]) / ("seed-" + name), std::ios::binary) << bytes;
    }
    return 0;
  }
  std::size_t runs = 0;
  for (const std::string& dir : args) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      std::string bytes;
      if (std::FILE* in = std::fopen(p.c_str(), "rb")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) bytes.append(buf, n);
        std::fclose(in);
      } else {
        std::fprintf(stderr, "fuzz_replay: cannot read %s\n", p.c_str());
        return 1;
      }
      std::fprintf(stderr, "fuzz_replay: %s (%zu bytes)\n", p.filename().c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++runs;
    }
  }
  std::fprintf(stderr, "fuzz_replay: %zu inputs ran\n", runs);
  return runs > 0 ? 0 : 1;
}
