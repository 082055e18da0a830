// index.json and index loading (index/vector_index.hpp): the input is index.json of a folder
// whose payload is a real saved index (flat, HNSW or IVF-Flat, picked by the first byte);
// nothing reaches faiss unless the SHA-256 recorded in index.json matches the payload.
#include "fuzz_util.hpp"

#include <vlbench/core/random.hpp>
#include <vlbench/index/vector_index.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

constexpr std::int64_t kN = 64, kD = 8;

// One saved index per type, made once; inputs are index.json files for them.
const std::filesystem::path& template_dir(int which) {
  static const std::vector<std::filesystem::path> dirs = [] {
    using namespace vlbench;
    SplitMix64 rng(5);
    std::vector<float> x(kN * kD);
    for (float& v : x) v = static_cast<float>(rng.normal());
    std::vector<std::filesystem::path> out;
    for (const char* type : {"flat", "hnsw", "ivf-flat"}) {
      std::unique_ptr<VectorIndex> index = make_index(type, kD);
      index->add(kN, x.data());
      const auto dir = fuzz::scratch() / (std::string("template-") + type);
      save_index(*index, dir, "fuzz");
      out.push_back(dir);
    }
    return out;
  }();
  return dirs[static_cast<std::size_t>(which) % dirs.size()];
}

}  // namespace

// VLBENCH_FUZZ_WRITE_SEEDS=DIR: write the templates' own index.json files (with their type
// byte) to DIR, the seeds of fuzz/seeds/index.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* out = std::getenv("VLBENCH_FUZZ_WRITE_SEEDS")) {
    for (int which = 0; which < 3; ++which) {
      std::ifstream in(template_dir(which) / "index.json", std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      text.insert(text.begin(), static_cast<char>(which));
      std::ofstream(std::filesystem::path(out) / ("index_" + std::to_string(which) + ".json"),
                    std::ios::binary)
          << text;
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  if (size == 0) return 0;
  const auto& source = template_dir(data[0]);
  const auto dir = fuzz::scratch() / "index";
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(source)) {
    if (entry.path().filename() != "index.json") {
      std::filesystem::create_hard_link(entry.path(), dir / entry.path().filename());
    }
  }
  fuzz::write_file(dir / "index.json", data + 1, size - 1);
  fuzz::expect_clean([&] {
    const LoadedIndex loaded = load_index(dir, /*verify=*/true);
    const std::vector<float> query(static_cast<std::size_t>(loaded.index->dim()), 0.5f);
    loaded.index->search(1, query.data(), 5, 1);
  });
  return 0;
}
