// The pipeline stages on their own: tokenize, preprocess, embed, make-model.
#include "cli/commands.hpp"
#include "cli/list_file.hpp"
#include "cli/model_options.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/npy.hpp>
#include <vlbench/core/process_stats.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/models/model.hpp>
#include <vlbench/vision/image.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace vlbench::cli {

namespace {

// The model's config, tokenizer and preprocessor, without its weights.
std::unique_ptr<EmbeddingModel> load_text_and_images(const std::filesystem::path& model,
                                                     const TextFlags& text,
                                                     const std::string& base) {
  ModelLoadOptions options;
  options.weights = false;
  options.base = base;
  text.apply(options);
  return load_model(model, options);
}

// pixels: n × 3 × H × W, decoded (in the file's own mode) and preprocessed in parallel.
std::vector<float> preprocess_images(const EmbeddingModel& model,
                                     const std::vector<std::filesystem::path>& images,
                                     std::int64_t max_image_pixels, bool exif_orientation,
                                     ThreadPool& pool, std::int64_t* height, std::int64_t* width) {
  const PreprocessConfig& config = model.preprocess_config();
  *height = config.output_height();
  *width = config.output_width();
  const std::int64_t per_image = 3 * *height * *width;
  std::vector<float> pixels(images.size() * static_cast<std::size_t>(per_image));
  pool.parallel_for(
      static_cast<std::int64_t>(images.size()),
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          DecodeOptions decode;
          decode.max_pixels = max_image_pixels;
          decode.exif_orientation = exif_orientation;
          preprocess(decode_image_native(images[i], decode), config, pixels.data() + i * per_image);
        }
      },
      1);
  return pixels;
}

// A multi-vector model's output in the MaxSim format (load_multi_vectors): DIR/TOKENS.npy
// float32 [n, t_max, d], each item's tokens first and zero rows after them, and
// DIR/LENGTHS.npy int32 [n]. Each file is written whole under a temporary name, then renamed.
void write_token_files(const std::filesystem::path& dir, const std::vector<float>& packed,
                       const std::vector<std::int32_t>& lengths, std::int64_t d) {
  if (std::filesystem::exists(dir) && !std::filesystem::is_directory(dir)) {
    fail("{}: a multi-vector model writes a folder (TOKENS.npy, LENGTHS.npy), and this is a file",
         dir.string());
  }
  std::filesystem::create_directories(dir);
  const auto n = static_cast<std::int64_t>(lengths.size());
  const std::int64_t t_max =
      lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  std::vector<float> padded(static_cast<std::size_t>(n * t_max * d), 0.0f);
  std::int64_t row = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::copy_n(packed.data() + row * d, std::int64_t{lengths[i]} * d,
                padded.data() + i * t_max * d);
    row += lengths[i];
  }
  write_npy(dir / "TOKENS.npy", DType::f32, {n, t_max, d}, padded.data());
  write_npy(dir / "LENGTHS.npy", DType::i32, {n}, lengths.data());
}

struct EmbedArgs {
  std::string model, base, image_list, pixels, text_list, out;
  std::string device = "cpu";
  std::string dtype = "fp32";
  TextFlags text;
  int batch = 32;
  int threads = 0;
  std::int64_t max_image_pixels = kPillowMaxImagePixels;
  bool exif_orientation = false;
};

void run_embed(const EmbedArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  const int given = !args.image_list.empty() + !args.pixels.empty() + !args.text_list.empty();
  if (given != 1) fail("embed: give exactly one of --image-list, --pixels, --text-list");
  const ModelSource source = resolve_model_option(args.model, "--model");
  const ModelSource base = resolve_model_option(args.base, "--base");
  refuse_overwriting_inputs(args.out, {args.image_list, args.pixels, args.text_list,
                                       source.dir.string(), base.dir.string()});
  ModelLoadOptions options;
  options.backend = args.device;
  options.compute = parse_compute_type(args.dtype);
  options.threads = args.threads;
  args.text.apply(options);
  options.base = base.dir;
  const std::unique_ptr<EmbeddingModel> model = load_model(source.dir, options);
  const std::int64_t d = model->embed_dim();
  // Packed rows: one per item, or one per token of each item (multi-vector models).
  std::vector<float> out;
  std::vector<std::int32_t> lengths;
  std::int64_t n = 0;
  if (!args.text_list.empty()) {
    const std::vector<std::string> captions = read_caption_list(args.text_list);
    n = static_cast<std::int64_t>(captions.size());
    for (std::int64_t b = 0; b < n; b += args.batch) {  // tokenized per batch, as encode does
      const std::int64_t e = std::min<std::int64_t>(n, b + args.batch);
      const auto ids = model->tokenize({captions.begin() + b, captions.begin() + e});
      const std::size_t first = out.size();
      for (const auto& caption : ids) {
        lengths.push_back(static_cast<std::int32_t>(model->text_vectors(caption)));
        out.resize(out.size() + static_cast<std::size_t>(lengths.back() * d));
      }
      model->encode_texts(ids, out.data() + first);
    }
  } else {
    std::vector<float> pixels;
    std::int64_t height = 0, width = 0;
    if (!args.pixels.empty()) {
      const NpyArray array = read_npy(args.pixels);
      if (array.dtype != DType::f32 || array.shape.size() != 4 || array.shape[1] != 3) {
        fail("{}: expected float32 pixels [n, 3, H, W]", args.pixels);
      }
      n = array.shape[0];
      height = array.shape[2];
      width = array.shape[3];
      pixels.resize(static_cast<std::size_t>(array.numel()));
      std::memcpy(pixels.data(), array.data, pixels.size() * sizeof(float));
    } else {
      ThreadPool pool(args.threads);
      const auto images = read_image_list(args.image_list);
      n = static_cast<std::int64_t>(images.size());
      pixels = preprocess_images(*model, images, args.max_image_pixels, args.exif_orientation, pool,
                                 &height, &width);
    }
    const int size = model->image_size();
    if (height != size || width != size) {
      fail("{}: pixels are {}x{}, the model expects {}x{}",
           args.pixels.empty() ? args.image_list : args.pixels, height, width, size, size);
    }
    const std::int64_t vectors = model->image_vectors();
    out.resize(static_cast<std::size_t>(n * vectors * d));
    lengths.assign(static_cast<std::size_t>(n), static_cast<std::int32_t>(vectors));
    const std::int64_t per_image = 3 * height * width;
    for (std::int64_t b = 0; b < n; b += args.batch) {
      const std::int64_t e = std::min<std::int64_t>(n, b + args.batch);
      model->encode_images(pixels.data() + b * per_image, e - b, out.data() + b * vectors * d);
    }
  }
  if (model->output_kind() == OutputKind::single_vector) {
    write_npy(args.out, DType::f32, {n, d}, out.data());
  } else {
    write_token_files(args.out, out, lengths, d);
  }
  // On stderr: stdout stays empty for scripts. Load included in the time and the memory.
  std::fprintf(stderr, "vlbench embed: %lld items, %lld vectors of %lld dims -> %s in %.1f s; peak RSS %.2f GB\n",
               static_cast<long long>(n), static_cast<long long>(out.size() / static_cast<std::size_t>(d)),
               static_cast<long long>(d), args.out.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               static_cast<double>(peak_rss_bytes()) / 1e9);
}

}  // namespace

void add_model_stages(CLI::App& app) {
  {
    struct Args {
      std::string model, base, text_list;
      TextFlags text;
    };
    auto args = std::make_shared<Args>();
    CLI::App* sub = app.add_subcommand(
        "tokenize", "Token ids of each caption as JSON lines {\"text\": ..., \"ids\": [...]}");
    sub->add_option("--model", args->model, kModelHelp)->required();
    add_base_option(sub, args->base);
    sub->add_option("--text-list", args->text_list,
                    "one caption per line (.jsonl: one JSON string per line)")
        ->required();
    args->text.add_to(sub);
    sub->callback([args] {
      const ModelSource source = resolve_model_option(args->model, "--model");
      const ModelSource base = resolve_model_option(args->base, "--base");
      const auto model = load_text_and_images(source.dir, args->text, base.dir);
      const std::vector<std::string> captions = read_caption_list(args->text_list);
      const auto ids = model->tokenize(captions);
      for (std::size_t i = 0; i < captions.size(); ++i) {
        const nlohmann::json line = {{"text", captions[i]}, {"ids", ids[i]}};
        std::puts(line.dump().c_str());
      }
    });
  }
  {
    struct Args {
      std::string model, base, image_list, out;
      int threads = 0;
      std::int64_t max_image_pixels = kPillowMaxImagePixels;
      bool exif_orientation = false;
    };
    auto args = std::make_shared<Args>();
    CLI::App* sub = app.add_subcommand(
        "preprocess", "Decode and preprocess images as the checkpoint says: float32 [n, 3, H, W]");
    sub->add_option("--model", args->model, kModelHelp)->required();
    add_base_option(sub, args->base);
    sub->add_option("--image-list", args->image_list, "one image path per line")->required();
    sub->add_option("--out", args->out, "PIX.npy")->required();
    sub->add_option("--threads", args->threads, "threads (0: all cores)")->check(thread_count());
    add_max_image_pixels_option(sub, args->max_image_pixels);
    add_exif_orientation_option(sub, args->exif_orientation);
    sub->callback([args] {
      const ModelSource source = resolve_model_option(args->model, "--model");
      const ModelSource base = resolve_model_option(args->base, "--base");
      refuse_overwriting_inputs(args->out, {args->image_list, source.dir.string()});
      ThreadPool pool(args->threads);
      std::int64_t height = 0, width = 0;
      const auto images = read_image_list(args->image_list);
      const auto model = load_text_and_images(source.dir, TextFlags{}, base.dir);
      const auto pixels = preprocess_images(*model, images, args->max_image_pixels,
                                            args->exif_orientation, pool, &height, &width);
      write_npy(args->out, DType::f32, {static_cast<std::int64_t>(images.size()), 3, height, width},
                pixels.data());
    });
  }
  {
    auto args = std::make_shared<EmbedArgs>();
    CLI::App* sub = app.add_subcommand(
        "embed",
        "Embeddings of images or captions: float32 [n, d] (projected, unnormalized), or for a "
        "multi-vector model (ColPali) a folder of TOKENS.npy [n, t_max, d] and LENGTHS.npy");
    sub->add_option("--model", args->model, kModelHelp)->required();
    add_base_option(sub, args->base);
    sub->add_option("--image-list", args->image_list, "one image path per line");
    sub->add_option("--pixels", args->pixels, "preprocessed PIX.npy [n, 3, H, W]");
    sub->add_option("--text-list", args->text_list,
                    "one caption per line (.jsonl: one JSON string per line)");
    sub->add_option("--out", args->out, "EMB.npy (multi-vector models: a folder)")->required();
    sub->add_option("--device", args->device,
                    "compute backend (built in: cpu, and cuda when built)")
        ->capture_default_str();
    sub->add_option("--dtype", args->dtype, "compute type: fp32 | bf16")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    sub->add_option("--batch", args->batch, "batch size")
        ->check(at_least(1))
        ->capture_default_str();
    sub->add_option("--threads", args->threads, "threads (0: all cores)")->check(thread_count());
    args->text.add_to(sub);
    add_max_image_pixels_option(sub, args->max_image_pixels);
    add_exif_orientation_option(sub, args->exif_orientation);
    sub->callback([args] { run_embed(*args); });
  }
  {
    struct Args {
      std::string arch = "clip", size, out, tokenizer_dir;
      std::uint64_t seed = 0;
    };
    auto args = std::make_shared<Args>();
    std::vector<std::string> archs;
    std::string sizes;
    for (const RandomModelArch& arch : random_model_archs()) {
      archs.push_back(arch.arch);
      std::string list;
      for (const std::string& size : arch.sizes) list += (list.empty() ? "" : " | ") + size;
      sizes += (sizes.empty() ? "" : "; ") + arch.arch + ": " + list;
    }
    CLI::App* sub = app.add_subcommand(
        "make-model", "Write a random-weight checkpoint at a real size, in the exact HF layout");
    sub->add_option("--arch", args->arch, "architecture")
        ->check(CLI::IsMember(archs))
        ->capture_default_str();
    sub->add_option("--size", args->size, sizes)->required();
    sub->add_option("--seed", args->seed, "seed")->capture_default_str();
    sub->add_option("--out", args->out, "output directory")->required();
    sub->add_option("--tokenizer-dir", args->tokenizer_dir,
                    "folder with the tokenizer files to ship (default: data/tokenizers/ARCH)");
    sub->callback([args] {
      write_random_model(args->out, args->arch, args->size, args->seed, args->tokenizer_dir);
      std::printf("wrote %s (%s %s, seed %llu)\n", args->out.c_str(), args->arch.c_str(),
                  args->size.c_str(), static_cast<unsigned long long>(args->seed));
    });
  }
}

}  // namespace vlbench::cli
