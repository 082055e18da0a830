// encode_bench: compute-only encode throughput (images/s, captions/s) of any model family, and the
// achieved GFLOP/s against the baseline of the machine's sgemm peak measured in the same run
// through the same GEMM backend (one large gemm_nt).
//
//   encode_bench (--model DIR | [--arch clip|siglip|siglip2] --size vit-b-32) [--batch N]
//   [--threads T] [--reps R]
//                [--dtype fp32|bf16] [--images N] [--captions N] [--caption-length L]
//                [--peak-size N] [--json OUT]
//
// Images are random preprocessed pixels in memory (n × 3 × S × S); captions are synthetic text
// of COCO-like length, tokenized by the model (outside the timing): caption i has
// 10 + (5·i mod 9) common one-token words, so 12..20 CLIP ids with bos and eos, the lengths
// bench/clip_vs_torch.py uses (SigLIP pads every caption to 64). The FLOPs are the model's
// analytic count (EmbeddingModel::image_flops / text_flops).
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
#include "vlbench/models/model.hpp"

namespace vlbench {
namespace {

using namespace vlbench::bench;

namespace fs = std::filesystem;

struct Options {
  std::string model;
  std::string arch = "clip";
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

// Caption i of `length` CLIP ids: length - 2 words, each one CLIP BPE token.
std::string synthetic_caption(std::int64_t i, std::int64_t length) {
  static const char* const kWords[] = {
      "a",   "the",   "of",     "on",    "in",      "with", "man", "dog",   "cat",    "red",
      "two", "white", "street", "table", "sitting", "next", "to",  "black", "people", "water"};
  constexpr std::int64_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  std::string text;
  for (std::int64_t w = 0; w < length - 2; ++w) {
    if (w) text += ' ';
    text += kWords[(i * 7 + w * 3) % kCount];
  }
  return text;
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
  GeneratedModel(const std::string& arch, const std::string& size) {
    dir_ = fs::temp_directory_path() /
           fmt::format("vlbench-encode-bench-{}-{}-{}", arch, size,
                       std::chrono::steady_clock::now().time_since_epoch().count());
    write_random_model(dir_, arch, size, 0);
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
  CLI::App app{"Encode throughput (compute only) vs the sgemm peak of the same backend"};
  app.add_option("--model", o.model, "checkpoint directory");
  app.add_option("--arch", o.arch, "architecture of --size (make-model's --arch)")
      ->capture_default_str();
  app.add_option("--size", o.size, "generate a random-weight checkpoint of this size instead");
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
    generated = std::make_unique<GeneratedModel>(o.arch, o.size);
    model_dir = generated->dir();
  }
  ModelLoadOptions load_options;
  load_options.backend = o.device;
  load_options.compute = parse_compute_type(o.dtype);
  load_options.threads = o.threads;
  const std::unique_ptr<EmbeddingModel> model = load_model(model_dir, load_options);
  const std::string model_label =
      o.size.empty() ? model_dir.string() : "random " + o.arch + " " + o.size;
  fmt::print("model: {} ({}, {} parameters), dtype {}, batch {}, {} reps after 1 warm-up batch\n",
             model_label, model->description(), model->parameter_count(), o.dtype, o.batch, o.reps);
  fmt::print("backend: {}\n", model->backend_description());

  // Baseline: the sgemm peak through the backend the model uses.
  const std::string backend = default_gemm_backend();
  const std::unique_ptr<Gemm> gemm = make_gemm(backend);
  gemm->set_threads(o.threads);
  // Measured before and after the encodes: the higher counts, as other load only lowers it.
  const double peak_before = measure_gemm_peak(*gemm, o.peak_size);

  const std::int64_t d = model->embed_dim();
  // Rows per image: 1, or a multi-vector model's tokens (a ColPali page: 1030).
  const std::int64_t image_rows = model->image_vectors();
  std::vector<float> out(static_cast<std::size_t>(o.n_images * image_rows * d));

  // Images: uniform noise in about the range of normalized pixels.
  const std::int64_t per_image = std::int64_t{3} * model->image_size() * model->image_size();
  std::vector<float> pixels(static_cast<std::size_t>(o.n_images * per_image));
  SplitMix64 rng(1);
  for (float& v : pixels) v = static_cast<float>(4 * rng.uniform() - 2);
  auto encode_all_images = [&] {
    for (std::int64_t b = 0; b < o.n_images; b += o.batch) {
      const std::int64_t e = std::min(o.n_images, b + o.batch);
      model->encode_images(pixels.data() + b * per_image, e - b, out.data() + b * image_rows * d);
    }
  };
  model->encode_images(pixels.data(), std::min(o.n_images, o.batch), out.data());  // warm-up
  const Timing image_t = time_reps(o.reps, encode_all_images);
  const double image_flop = model->image_flops() * static_cast<double>(o.n_images);

  // Captions: synthetic text, tokenized by the model before the timing.
  std::vector<std::string> texts(static_cast<std::size_t>(o.n_captions));
  for (std::int64_t i = 0; i < o.n_captions; ++i) {
    texts[static_cast<std::size_t>(i)] =
        synthetic_caption(i, o.caption_length > 0 ? o.caption_length : caption_length(i));
  }
  std::vector<std::vector<std::int32_t>> captions;
  for (std::int64_t b = 0; b < o.n_captions; b += o.batch) {
    const std::int64_t e = std::min(o.n_captions, b + o.batch);
    for (auto& ids : model->tokenize({texts.begin() + b, texts.begin() + e})) {
      captions.push_back(std::move(ids));
    }
  }
  double text_flop = 0;
  double total_ids = 0;
  for (const auto& ids : captions) {
    text_flop += model->text_flops(static_cast<std::int64_t>(ids.size()));
    total_ids += static_cast<double>(ids.size());
  }
  const double mean_ids = total_ids / static_cast<double>(o.n_captions);
  // Output rows of each caption (1, or one per token for multi-vector models), packed.
  std::vector<std::int64_t> first_row(captions.size() + 1, 0);
  for (std::size_t c = 0; c < captions.size(); ++c) {
    first_row[c + 1] = first_row[c] + model->text_vectors(captions[c]);
  }
  std::vector<float> text_out(static_cast<std::size_t>(first_row.back() * d));
  auto encode_all_texts = [&] {
    for (std::int64_t b = 0; b < o.n_captions; b += o.batch) {
      const std::int64_t e = std::min(o.n_captions, b + o.batch);
      model->encode_texts({captions.begin() + b, captions.begin() + e},
                          text_out.data() + first_row[b] * d);
    }
  };
  model->encode_texts({captions.begin(), captions.begin() + std::min(o.n_captions, o.batch)},
                      text_out.data());  // warm-up
  const Timing text_t = time_reps(o.reps, encode_all_texts);
  // Query latency: each of the first (up to 8) captions encoded alone, median.
  std::vector<double> single;
  for (std::size_t c = 0; c < std::min<std::size_t>(8, captions.size()); ++c) {
    const auto start = std::chrono::steady_clock::now();
    model->encode_texts({captions[c]}, text_out.data());
    single.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(single.begin(), single.end());
  const double query_latency = single.empty() ? 0.0 : single[single.size() / 2];

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
      "captions: {:.2f} captions/s median (min {:.2f}, max {:.2f}) over {} captions of {:.1f} "
      "ids on average, {:.1f} GFLOP/s = {:.3f} of the sgemm peak\n",
      n_captions / text_t.median, n_captions / text_t.max, n_captions / text_t.min, o.n_captions,
      mean_ids, text_gflops, text_gflops / peak);
  fmt::print("query latency: {:.2f} ms median over {} captions encoded one at a time\n",
             1e3 * query_latency, single.size());
  fmt::print("load average after the run {}\n", load_average());

  if (!o.json_out.empty()) {
    const nlohmann::json doc = {
        {"program", "encode_bench"},
        {"machine", cpu_model()},
        {"hardware_threads", std::thread::hardware_concurrency()},
        {"threads", o.threads},
        {"load_average_end", load_average()},
        {"model", model_label},
        {"family", model->family()},
        {"description", model->description()},
        {"parameters", model->parameter_count()},
        {"dtype", o.dtype},
        {"device", model->backend_description()},
        {"batch", o.batch},
        {"reps", o.reps},
        {"gemm_backend", backend},
        {"sgemm_peak_gflops", peak},
        {"caption_length", o.caption_length > 0 ? fmt::format("{}", o.caption_length) : "12-20"},
        {"caption_ids_mean", mean_ids},
        {"images", timing_json(image_t, n_images)},
        {"image_gflops", image_gflops},
        {"image_fraction_of_peak", image_gflops / peak},
        {"captions", timing_json(text_t, n_captions)},
        {"text_gflops", text_gflops},
        {"text_fraction_of_peak", text_gflops / peak},
        {"query_latency_seconds_median", query_latency},
        {"image_vectors", image_rows},
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
