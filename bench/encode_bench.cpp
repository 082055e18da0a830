// encode_bench: compute-only CLIP encode throughput (images/s, captions/s) of ClipModel, and the
// achieved GFLOP/s against the baseline of the machine's sgemm peak measured in the same run
// through the same GEMM backend (one large gemm_nt).
//
//   encode_bench (--model DIR | --size vit-b-32) [--batch N] [--threads T] [--reps R]
//                [--dtype fp32|bf16] [--images N] [--captions N] [--caption-length L]
//                [--peak-size N] [--json OUT]
//
// Images are random preprocessed pixels in memory (n × 3 × S × S); captions are synthetic token
// ids of COCO-like length: caption i has 12 + (5·i mod 9) ids (12..20, bos and eos included),
// the same lengths bench/clip_vs_torch.py uses. The FLOPs are counted analytically from the
// config (see count_image_flop / count_text_flop).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include "bench_util.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vlbench/core/error.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/kernels/gemm.hpp"
#include "vlbench/models/clip.hpp"
#include "vlbench/models/random_clip.hpp"

namespace vlbench {
namespace {

using namespace vlbench::bench;

namespace fs = std::filesystem;

struct Options {
  std::string model;
  std::string size;
  std::int64_t batch = 32;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  int reps = 3;
  std::string dtype = "fp32";
  std::string device = "cpu";
  std::int64_t n_images = 64;
  std::int64_t n_captions = 256;
  std::int64_t peak_size = 2048;
  std::int64_t caption_length = 0;  // 0: the 12..20 mix of caption_length()
  std::string json_out;
};

// The caption length rule shared with bench/clip_vs_torch.py: 12..20 ids, spread evenly.
std::int64_t caption_length(std::int64_t i) {
  return 12 + (5 * i) % 9;
}

// One transformer layer over `tokens` tokens: the Linears (q, k, v, out: 4·d², fc1 and fc2:
// 2·d·I multiply-adds per token) plus attention (Q·Kᵀ and P·V: 2·tokens²·d multiply-adds,
// counted in full for the causal text tower too). Multiply-add = 2 FLOPs.
double layer_flop(const ClipTowerConfig& tower, double tokens) {
  const double d = tower.hidden_size;
  const double linear_params = 4 * d * d + 2 * d * tower.intermediate_size;
  return 2 * linear_params * tokens + 2 * 2 * tokens * tokens * d;
}

// Per image: patch embedding (a GEMM of n_patches × (C·p²) by d) + the encoder over
// n_patches + 1 tokens + the projection of the pooled token.
double count_image_flop(const ClipConfig& c) {
  const double n_patches = static_cast<double>(c.image_size / c.patch_size) *
                           static_cast<double>(c.image_size / c.patch_size);
  const double d = c.vision.hidden_size;
  const double patch = 2 * n_patches * c.num_channels * c.patch_size * c.patch_size * d;
  return patch + c.vision.num_hidden_layers * layer_flop(c.vision, n_patches + 1) +
         2 * d * c.projection_dim;
}

// Per caption of `length` tokens: the encoder + the projection of the pooled token.
double count_text_flop(const ClipConfig& c, std::int64_t length) {
  return c.text.num_hidden_layers * layer_flop(c.text, static_cast<double>(length)) +
         2.0 * c.text.hidden_size * c.projection_dim;
}

// The sgemm peak: best of 3 timed m = n = k gemm_nt calls after one warm-up, GFLOP/s.
double measure_gemm_peak(const Gemm& gemm, std::int64_t size) {
  const auto elements = static_cast<std::size_t>(size * size);
  std::vector<float> a(elements), b(elements), c(elements);
  SplitMix64 rng(7);
  for (float& v : a) v = static_cast<float>(rng.uniform() - 0.5);
  for (float& v : b) v = static_cast<float>(rng.uniform() - 0.5);
  auto call = [&] {
    gemm.gemm_nt(size, size, size, a.data(), size, b.data(), size, c.data(), size);
  };
  call();
  const Timing t = time_reps(3, call);
  return 2.0 * static_cast<double>(size) * size * size / t.min * 1e-9;
}

// A random-weight checkpoint in a fresh folder under the system temp dir, removed on exit.
class GeneratedModel {
 public:
  GeneratedModel(const std::string& size, const fs::path& tokenizer_dir) {
    dir_ = fs::temp_directory_path() /
           fmt::format("vlbench-encode-bench-{}-{}", size,
                       std::chrono::steady_clock::now().time_since_epoch().count());
    write_random_clip(dir_, size, 0, tokenizer_dir);
  }
  GeneratedModel(const GeneratedModel&) = delete;
  GeneratedModel& operator=(const GeneratedModel&) = delete;
  ~GeneratedModel() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

nlohmann::json timing_json(const Timing& t, double items) {
  return {{"items", items},
          {"seconds_median", t.median},
          {"seconds_min", t.min},
          {"seconds_max", t.max},
          {"per_second_median", items / t.median},
          {"per_second_min", items / t.max},
          {"per_second_max", items / t.min}};
}

int run(int argc, char** argv) {
  Options o;
  CLI::App app{"CLIP encode throughput (compute only) vs the sgemm peak of the same backend"};
  app.add_option("--model", o.model, "checkpoint directory");
  app.add_option("--size", o.size, "generate a random-weight checkpoint of this size instead")
      ->check(CLI::IsMember(random_clip_sizes()));
  app.add_option("--batch", o.batch, "images / captions per encode call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", o.threads, "threads (default: all)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--reps", o.reps, "timed repetitions after one warm-up batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--dtype", o.dtype, "compute type")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  app.add_option("--device", o.device, "compute backend")->capture_default_str();
  app.add_option("--images", o.n_images, "images per repetition")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--captions", o.n_captions, "captions per repetition")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--peak-size", o.peak_size, "m = n = k of the sgemm peak measurement")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--caption-length", o.caption_length,
                 "every caption this many ids (default: the 12-20 mix)")
      ->check(CLI::Range(2, 1 << 20));
  app.add_option("--json", o.json_out, "also write the numbers to this JSON file");
  CLI11_PARSE(app, argc, argv);
  if (o.model.empty() == o.size.empty()) fail("give exactly one of --model, --size");

  fmt::print("machine: {}, {} hardware threads; using {} threads; load average {}\n", cpu_model(),
             std::thread::hardware_concurrency(), o.threads, load_average());

  std::unique_ptr<GeneratedModel> generated;
  fs::path model_dir = o.model;
  if (!o.size.empty()) {
    generated = std::make_unique<GeneratedModel>(
        o.size, fs::path(VLBENCH_SOURCE_DIR) / "data" / "tokenizers" / "clip");
    model_dir = generated->dir();
  }
  ClipLoadOptions load_options;
  load_options.backend = o.device;
  load_options.compute = parse_compute_type(o.dtype);
  load_options.threads = o.threads;
  const ClipModel model = ClipModel::load(model_dir, load_options);
  const ClipConfig& config = model.config();
  fmt::print("model: {} ({} parameters), dtype {}, batch {}, {} reps after 1 warm-up batch\n",
             o.size.empty() ? model_dir.string() : "random " + o.size, model.parameter_count(),
             o.dtype, o.batch, o.reps);
  fmt::print("backend: {}\n", model.backend_description());

  // Baseline: the sgemm peak through the backend ClipModel uses.
  const std::string backend = default_gemm_backend();
  const std::unique_ptr<Gemm> gemm = make_gemm(backend);
  gemm->set_threads(o.threads);
  // Measured before and after the encodes: the higher counts, as other load only lowers it.
  const double peak_before = measure_gemm_peak(*gemm, o.peak_size);

  const std::int64_t d = model.embed_dim();
  std::vector<float> out(static_cast<std::size_t>(std::max(o.n_images, o.n_captions) * d));

  // Images: uniform noise in about the range of CLIP-normalized pixels.
  const std::int64_t per_image =
      std::int64_t{config.num_channels} * config.image_size * config.image_size;
  std::vector<float> pixels(static_cast<std::size_t>(o.n_images * per_image));
  SplitMix64 rng(1);
  for (float& v : pixels) v = static_cast<float>(4 * rng.uniform() - 2);
  auto encode_all_images = [&] {
    for (std::int64_t b = 0; b < o.n_images; b += o.batch) {
      const std::int64_t e = std::min(o.n_images, b + o.batch);
      model.encode_images(pixels.data() + b * per_image, e - b, out.data() + b * d);
    }
  };
  model.encode_images(pixels.data(), std::min(o.n_images, o.batch), out.data());  // warm-up
  const Timing image_t = time_reps(o.reps, encode_all_images);
  const double image_flop = count_image_flop(config) * static_cast<double>(o.n_images);

  // Captions: bos, random ids below bos (ordinary BPE tokens), eos.
  // CLIP's vocab ends with <|startoftext|>, <|endoftext|>; configs with eos_token_id 2 (old
  // transformers) pool at argmax(ids), which is <|endoftext|> too.
  const auto bos = static_cast<std::int32_t>(config.vocab_size - 2);
  const std::int32_t eos = config.eos_token_id == 2 ? bos + 1 : config.eos_token_id;
  std::vector<std::vector<std::int32_t>> captions(static_cast<std::size_t>(o.n_captions));
  double text_flop = 0;
  for (std::int64_t i = 0; i < o.n_captions; ++i) {
    const std::int64_t length =
        std::min<std::int64_t>(o.caption_length > 0 ? o.caption_length : caption_length(i),
                               config.max_position_embeddings);
    std::vector<std::int32_t>& ids = captions[static_cast<std::size_t>(i)];
    ids.push_back(bos);
    while (static_cast<std::int64_t>(ids.size()) < length - 1) {
      ids.push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(bos))));
    }
    ids.push_back(eos);
    text_flop += count_text_flop(config, length);
  }
  auto encode_all_texts = [&] {
    for (std::int64_t b = 0; b < o.n_captions; b += o.batch) {
      const std::int64_t e = std::min(o.n_captions, b + o.batch);
      model.encode_texts({captions.begin() + b, captions.begin() + e}, out.data() + b * d);
    }
  };
  model.encode_texts({captions.begin(), captions.begin() + std::min(o.n_captions, o.batch)},
                     out.data());  // warm-up
  const Timing text_t = time_reps(o.reps, encode_all_texts);

  const double peak_after = measure_gemm_peak(*gemm, o.peak_size);
  const double peak = std::max(peak_before, peak_after);
  fmt::print(
      "baseline: sgemm peak ({} gemm_nt {}^3, best of 3): {:.1f} GFLOP/s (before the encodes "
      "{:.1f}, after {:.1f})\n",
      backend, o.peak_size, peak, peak_before, peak_after);

  const auto n_images = static_cast<double>(o.n_images);
  const auto n_captions = static_cast<double>(o.n_captions);
  const double image_gflops = image_flop / image_t.median * 1e-9;
  const double text_gflops = text_flop / text_t.median * 1e-9;
  fmt::print(
      "images:   {:.2f} images/s median (min {:.2f}, max {:.2f}) over {} images, "
      "{:.1f} GFLOP/s = {:.3f} of the sgemm peak (target >= 0.5 for fp32)\n",
      n_images / image_t.median, n_images / image_t.max, n_images / image_t.min, o.n_images,
      image_gflops, image_gflops / peak);
  fmt::print(
      "captions: {:.2f} captions/s median (min {:.2f}, max {:.2f}) over {} captions of {} "
      "tokens, {:.1f} GFLOP/s = {:.3f} of the sgemm peak\n",
      n_captions / text_t.median, n_captions / text_t.max, n_captions / text_t.min, o.n_captions,
      o.caption_length > 0 ? fmt::format("{}", o.caption_length) : std::string("12-20"),
      text_gflops, text_gflops / peak);
  fmt::print("load average after the run {}\n", load_average());

  if (!o.json_out.empty()) {
    const nlohmann::json doc = {
        {"program", "encode_bench"},
        {"machine", cpu_model()},
        {"hardware_threads", std::thread::hardware_concurrency()},
        {"threads", o.threads},
        {"load_average_end", load_average()},
        {"model", o.size.empty() ? model_dir.string() : "random " + o.size},
        {"dtype", o.dtype},
        {"device", model.backend_description()},
        {"batch", o.batch},
        {"reps", o.reps},
        {"gemm_backend", backend},
        {"sgemm_peak_gflops", peak},
        {"caption_length", o.caption_length > 0 ? fmt::format("{}", o.caption_length) : "12-20"},
        {"images", timing_json(image_t, n_images)},
        {"image_gflops", image_gflops},
        {"image_fraction_of_peak", image_gflops / peak},
        {"captions", timing_json(text_t, n_captions)},
        {"text_gflops", text_gflops},
        {"text_fraction_of_peak", text_gflops / peak},
    };
    std::ofstream file(o.json_out);
    file << doc.dump(2) << "\n";
    if (!file) fail("{}: could not write the JSON results", o.json_out);
  }
  return 0;
}

}  // namespace
}  // namespace vlbench

int main(int argc, char** argv) {
  try {
    return vlbench::run(argc, argv);
  } catch (const vlbench::Error& e) {
    fmt::print(stderr, "encode_bench: error: {}\n", e.what());
    return 1;
  }
}
