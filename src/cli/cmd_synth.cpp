// vlbench synth-embeddings: deterministic synthetic embeddings for a dataset, in the gallery
// order that eval expects. For the quickstart, tests and benchmarks; not a model.
//
// Image i gets z_i + noise·e and each of its captions z_i + noise·e', with z_i, e, e' standard
// normal vectors drawn from per-row SplitMix64 streams, so the files are identical on every
// machine for the same (dataset, dim, noise, seed).
#include "cli/commands.hpp"
#include "cli/dataset_flags.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/npy.hpp>
#include <vlbench/core/random.hpp>
#include <vlbench/data/dataset.hpp>

#include <cstdio>
#include <filesystem>

namespace vlbench::cli {

namespace {

struct SynthArgs {
  DatasetFlags dataset;
  std::string out;
  int dim = 64;
  double noise = 0.8;
  std::uint64_t seed = 0;
};

// Row `row` of a [n, dim] matrix: latent(image) + noise · fresh normal vector.
void fill_row(float* out, int dim, std::uint64_t seed, std::uint64_t image, std::uint64_t stream,
              double noise) {
  SplitMix64 latent = SplitMix64::for_item(seed, image);
  SplitMix64 jitter = SplitMix64::for_item(seed ^ 0x5DEECE66Dull, stream);
  for (int j = 0; j < dim; ++j) {
    out[j] = static_cast<float>(latent.normal() + noise * jitter.normal());
  }
}

void run_synth(const SynthArgs& args) {
  const Dataset dataset = args.dataset.open();

  const std::int64_t n_images = dataset.n_images();
  const std::int64_t n_captions = dataset.n_captions();
  std::vector<float> images(static_cast<std::size_t>(n_images * args.dim));
  std::vector<float> texts(static_cast<std::size_t>(n_captions * args.dim));
  for (std::int64_t i = 0; i < n_images; ++i) {
    fill_row(images.data() + i * args.dim, args.dim, args.seed, i, i, args.noise);
  }
  for (std::int64_t c = 0; c < n_captions; ++c) {
    fill_row(texts.data() + c * args.dim, args.dim, args.seed, dataset.caption_image[c],
             n_images + c, args.noise);
  }
  std::filesystem::create_directories(args.out);
  const std::filesystem::path out = args.out;
  write_npy(out / "IMAGES.npy", DType::f32, {n_images, args.dim}, images.data());
  write_npy(out / "TEXTS.npy", DType::f32, {n_captions, args.dim}, texts.data());
  std::printf("wrote %s (%lld x %d) and %s (%lld x %d)\n", (out / "IMAGES.npy").c_str(),
              static_cast<long long>(n_images), args.dim, (out / "TEXTS.npy").c_str(),
              static_cast<long long>(n_captions), args.dim);
}

}  // namespace

void add_synth_embeddings(CLI::App& app) {
  auto args = std::make_shared<SynthArgs>();
  CLI::App* sub = app.add_subcommand(
      "synth-embeddings",
      "Write deterministic synthetic IMAGES.npy and TEXTS.npy for a dataset (not a model)");
  args->dataset.add_to(sub);
  sub->add_option("--dim", args->dim, "embedding dimension")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  sub->add_option("--noise", args->noise, "noise scale relative to the shared latent")
      ->check(at_least(0))
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "seed")->capture_default_str();
  sub->add_option("--out", args->out, "output folder")->required();
  sub->callback([args] { run_synth(*args); });
}

}  // namespace vlbench::cli
