// vlbench encode and vlbench run: models × datasets -> embeddings, metrics, speed, tables.
#include "cli/commands.hpp"
#include "cli/dataset_flags.hpp"
#include "cli/model_options.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/eval/compare.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/index/quantize.hpp>
#include <vlbench/index/token_pooling.hpp>
#include <vlbench/eval/rerank.hpp>
#include <vlbench/models/model.hpp>
#include <vlbench/pipeline/encode.hpp>
#include <vlbench/report/results.hpp>
#include <vlbench/report/study.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <chrono>
#include <cstdio>

namespace vlbench::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct ModelFlags {
  std::string base;
  std::string device = "cpu";
  std::string dtype = "fp32";
  TextFlags text;
  int batch = 32;
  int threads = 0;
  bool skip_bad_images = false;
  std::int64_t max_image_pixels = kPillowMaxImagePixels;
  bool exif_orientation = false;

  void add_to(CLI::App* sub) {
    add_base_option(sub, base);
    sub->add_option("--device", device, "compute backend (built in: cpu, and cuda when built)")
        ->capture_default_str();
    sub->add_option("--dtype", dtype, "compute type: fp32 | bf16")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    sub->add_option("--batch", batch, "images / captions per encoder call")
        ->check(at_least(1))
        ->capture_default_str();
    sub->add_option("--threads", threads, "threads (0: all cores)")
        ->check(thread_count())
        ->capture_default_str();
    sub->add_flag("--skip-bad-images", skip_bad_images,
                  "leave out images that cannot be read (counted in the results)");
    text.add_to(sub);
    add_max_image_pixels_option(sub, max_image_pixels);
    add_exif_orientation_option(sub, exif_orientation);
  }

  std::unique_ptr<EmbeddingModel> load(const fs::path& dir) const {
    ModelLoadOptions options;
    options.backend = device;
    options.compute = parse_compute_type(dtype);
    options.threads = threads;
    text.apply(options);
    // --base serves the adapter folders among the models.
    if (fs::exists(dir / "adapter_config.json")) {
      options.base = resolve_model_option(base, "--base").dir;
    }
    return load_model(dir, options);
  }

  EncodeOptions encode_options() const {
    EncodeOptions options;
    options.batch = batch;
    options.threads = threads;
    options.skip_bad_images = skip_bad_images;
    options.max_image_pixels = max_image_pixels;
    options.exif_orientation = exif_orientation;
    options.progress = true;
    return options;
  }
};

// Where a model came from, for the results documents' provenance: the Hub repository, the
// revision asked for and the commit it resolved to (a checkpoint folder has none: null).
json hub_json(const ModelSource& source) {
  if (!source.hub) return nullptr;
  return {{"repo_id", source.hub->repo_id},
          {"revision", source.hub->revision},
          {"commit", source.commit}};
}

// The file whose hash identifies the weights.
std::string weights_sha256(const fs::path& dir) {
  for (const char* name :
       {"adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json",
        "pytorch_model.bin", "open_clip_model.safetensors", "open_clip_pytorch_model.bin"}) {
    if (fs::exists(dir / name)) return sha256_file(dir / name);
  }
  return "";
}

// The embedding files of `encoded` in `dir`, by role: IMAGES.npy and TEXTS.npy, or for a
// multi-vector model the MaxSim token files (load_multi_vectors) IMAGE_TOKENS.npy +
// IMAGE_LENGTHS.npy and TEXT_TOKENS.npy + TEXT_LENGTHS.npy.
json write_embeddings(const fs::path& dir, const EncodedDataset& encoded) {
  fs::create_directories(dir);
  if (encoded.multi_vector()) {
    json files = json::object();
    for (const auto& [role, set] : {std::pair<std::string, const MultiVectorSet*>{
                                        "image", &encoded.image_tokens},
                                    {"text", &encoded.text_tokens}}) {
      std::string upper = role;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const fs::path tokens = dir / (upper + "_TOKENS.npy");
      const fs::path lengths = dir / (upper + "_LENGTHS.npy");
      write_npy(tokens, DType::f32, {set->n, set->t_max, set->d}, set->tokens.data());
      write_npy(lengths, DType::i32, {set->n}, set->lengths.data());
      files[role + "s"] = {{"tokens", tokens.string()}, {"lengths", lengths.string()}};
    }
    return files;
  }
  write_npy(dir / "IMAGES.npy", DType::f32, {encoded.images.rows, encoded.images.cols},
            encoded.images.values.data());
  write_npy(dir / "TEXTS.npy", DType::f32, {encoded.texts.rows, encoded.texts.cols},
            encoded.texts.values.data());
  return {{"images", {{"path", (dir / "IMAGES.npy").string()}}},
          {"texts", {{"path", (dir / "TEXTS.npy").string()}}}};
}

std::int64_t items(const MatrixF32& dense, const MultiVectorSet& tokens) {
  return tokens.n > 0 ? tokens.n : dense.rows;
}

// How the images were read and where they turned RGB: recorded with the other preprocessing
// settings, since each changes pixels.
json image_settings_json(const EmbeddingModel& model, const ModelFlags& flags) {
  return {{"exif_orientation", flags.exif_orientation},
          {"max_image_pixels", flags.max_image_pixels},
          {"resize_in_file_mode", model.preprocess_config().resize_in_file_mode}};
}

json manifest_json(const ModelSource& source, const EmbeddingModel& model, const Dataset& dataset,
                   const EncodedDataset& e, const ModelFlags& flags) {
  json manifest = {{"model", fs::absolute(source.dir).string()},
          {"family", model.family()},
          {"model_name", model.name()},
          {"text_rules", model.text_rules()},
          {"images_read", image_settings_json(model, flags)},
          {"dataset",
           {{"kind", dataset.kind},
            {"path", dataset.annotation_path.string()},
            {"split", dataset.split},
            {"sha256", dataset.annotation_sha256}}},
          {"images", items(e.images, e.image_tokens)},
          {"captions", items(e.texts, e.text_tokens)},
          {"dim", e.images.cols},
          {"output", e.multi_vector() ? "multi_vector" : "single_vector"},
          {"skipped_images", e.bad_images.size()},
          {"order", "images in annotation order; captions grouped by image"}};
  manifest["hub"] = hub_json(source);
  return manifest;
}

void run_encode(const std::string& model_arg, const DatasetFlags& dataset_flags,
                const ModelFlags& flags, const fs::path& out) {
  const ModelSource source = resolve_model_option(model_arg, "--model");
  const std::unique_ptr<EmbeddingModel> model = flags.load(source.dir);
  Dataset dataset = dataset_flags.open();
  EncodedDataset encoded = encode_dataset(*model, dataset, flags.encode_options());
  drop_images(dataset, encoded);
  const json files = write_embeddings(out, encoded);
  write_file_atomic(out / "manifest.json",
                    manifest_json(source, *model, dataset, encoded, flags).dump(2) + "\n");
  std::printf("wrote %s: %lld images, %lld captions (%s), manifest.json\n", out.c_str(),
              static_cast<long long>(items(encoded.images, encoded.image_tokens)),
              static_cast<long long>(items(encoded.texts, encoded.text_tokens)),
              files.dump().c_str());
}

struct RunArgs {
  std::vector<std::string> models;
  std::vector<std::string> datasets;
  std::string protocol = "standard";
  std::string split = "test";
  std::string image_root;
  bool allow_any_size = false;
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  std::string out = "out/run";
  std::string rerank_model;  // a multi-vector model: the two-stage pipeline
  std::int64_t rerank_depth = 100;
  int token_pool_factor = 1;     // multi-vector models: also evaluate pooled page tokens
  std::string token_quantize;    // multi-vector models: also evaluate bf16 / int8 / binary page tokens
  std::vector<std::string> index_bench;  // index_bench.json files for the report's decision table
  ModelFlags model;
};

// p50 / p95 / p99 (nearest rank) of seconds.
json percentiles_json(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  const auto at = [&](double p) {
    const auto k = static_cast<std::size_t>(
        std::max(1.0, std::ceil(p * static_cast<double>(seconds.size()))));
    return seconds[std::min(k, seconds.size()) - 1];
  };
  return {{"p50", at(0.50)}, {"p95", at(0.95)}, {"p99", at(0.99)}, {"n", seconds.size()}};
}

// Seconds to tokenize and encode one query at a time (as a search service does), over the
// first `n` captions of the dataset.
std::vector<double> query_encode_seconds(const EmbeddingModel& model, const Dataset& dataset,
                                         std::int64_t n) {
  std::vector<double> seconds;
  std::vector<float> out;
  for (std::int64_t c = 0; c < std::min(n, dataset.n_captions()); ++c) {
    const auto start = std::chrono::steady_clock::now();
    const auto ids = model.tokenize({dataset.captions[c]});
    out.resize(static_cast<std::size_t>(model.text_vectors(ids[0]) * model.embed_dim()));
    model.encode_texts(ids, out.data());
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return seconds;
}

// Queries whose single-query encode time is measured for the two-stage latency.
constexpr std::int64_t kLatencyQueries = 32;

// Mean stored bytes of a page's tokens in `storage` (TokenStore::bytes_per_token).
double bytes_per_page(const MultiVectorSet& pages, const std::string& storage) {
  double tokens = 0;
  for (const std::int32_t l : pages.lengths) tokens += l;
  tokens /= std::max<double>(1.0, static_cast<double>(pages.n));
  TokenStore empty;
  empty.storage = parse_token_storage(storage);
  empty.d = pages.d;
  return tokens * static_cast<double>(empty.bytes_per_token());
}

// --token-pool-factor / --token-quantize: the multi-vector model evaluated again with its page
// tokens pooled or quantized (queries unchanged), every metric compared with the full-precision
// unpooled MaxSim by the paired bootstrap, and the bytes per page of each.
json page_token_variants(const Dataset& dataset, const EncodedDataset& encoded,
                         const EvalResult& full, const RunArgs& args,
                         const EvalOptions& options, std::string& tables) {
  json sections = json::object();
  const auto compare = [&](const std::string& key, const std::string& type,
                           const MultiVectorSet& pages, const std::string& storage) {
    const EvalResult variant = evaluate_maxsim(dataset, pages, encoded.text_tokens, options);
    const std::vector<MetricComparison> paired = compare_per_query(
        per_query_of(full), per_query_of(variant), options.bootstrap, options.threads);
    json section = quantization_json(type, full, variant, paired);
    section["bytes_per_page"] = {{"fp32", bytes_per_page(encoded.image_tokens, "f32")},
                                 {"variant", bytes_per_page(pages, storage)}};
    section["tokens_per_page"] = {
        {"fp32", static_cast<double>(encoded.image_tokens.t_max)},
        {"variant_mean", bytes_per_page(pages, "f32") / (4.0 * static_cast<double>(pages.d))}};
    tables += render_quantization_markdown(section) +
              fmt::format("bytes per page: {:.0f} (fp32, unpooled) → {:.0f} ({})\n\n",
                          section["bytes_per_page"]["fp32"].get<double>(),
                          section["bytes_per_page"]["variant"].get<double>(), type);
    sections[key] = std::move(section);
  };
  if (args.token_pool_factor > 1) {
    ThreadPool pool(options.threads);
    const MultiVectorSet pooled = pool_tokens(encoded.image_tokens, args.token_pool_factor, pool);
    compare("token_pooling", fmt::format("page tokens pooled by {}", args.token_pool_factor),
            pooled, "f32");
  }
  if (!args.token_quantize.empty()) {
    // The decoded values of the storage `serve --rerank-token-storage` holds: its MaxSim
    // scores have exactly these bits.
    const MultiVectorSet pages = decode_tokens(
        store_tokens(encoded.image_tokens, parse_token_storage(args.token_quantize)));
    compare("token_quantization", args.token_quantize + " page tokens", pages,
            args.token_quantize);
  }
  return sections;
}

void run_run(RunArgs args) {
  const fs::path out = args.out;
  if (args.models.empty() != args.datasets.empty()) {
    fail("run: give both --model and --dataset, or neither for the quickstart");
  }
  // Read before any encoding: a bad file fails the run at once.
  std::vector<IndexBenchFile> index_bench;
  for (const auto& f : args.index_bench) index_bench.push_back(read_index_bench(f));
  if (args.models.empty()) {
    // The quickstart: two generated CLIPs of different sizes (two points on the report's
    // speed axis) on the bundled mini datasets.
    const fs::path data = VLBENCH_DATA_DIR;
    for (const char* size : {"tiny", "small"}) {
      const fs::path dir = out / "models" / (std::string("clip-") + size);
      write_random_model(dir, "clip", size, 0);
      args.models.push_back(dir.string());
    }
    args.datasets = {"coco-karpathy:" + (data / "coco-karpathy-mini").string(),
                     "flickr30k-karpathy:" + (data / "flickr30k-karpathy-mini").string(),
                     "winoground:" + (data / "winoground-mini").string(),
                     "jsonl:" + (data / "jsonl-mini" / "captions.jsonl").string()};
    args.allow_any_size = true;
    std::printf("quickstart: random-weight CLIPs, tiny and small (%s), on the bundled mini "
                "datasets\n",
                (out / "models").c_str());
  }

  // Every model named, resolved before any work: a reference not in the cache fails the run
  // at once.
  std::vector<ModelSource> sources;
  for (const std::string& model : args.models) {
    sources.push_back(resolve_model_option(model, "--model"));
  }
  const ModelSource rerank_source = resolve_model_option(args.rerank_model, "--rerank-model");
  if (!args.model.base.empty()) resolve_model_option(args.model.base, "--base");

  EvalOptions eval_options;
  eval_options.protocol = parse_protocol(args.protocol);
  eval_options.bootstrap = {args.bootstrap, args.seed};
  eval_options.threads = args.model.threads;

  // The two-stage pipeline: the re-ranking model encodes each dataset once, for every model.
  std::unique_ptr<EmbeddingModel> reranker;
  std::string rerank_name;
  std::map<std::string, EncodedDataset> rerank_encoded;  // by dataset spec
  std::map<std::string, std::vector<double>> rerank_query_seconds;
  if (!args.rerank_model.empty()) {
    reranker = args.model.load(rerank_source.dir);
    rerank_name = rerank_source.display_name();
    if (reranker->output_kind() != OutputKind::multi_vector) {
      fail("--rerank-model {}: a {} model gives one vector per item; re-ranking needs a "
           "multi-vector (late interaction) model such as ColPali",
           args.rerank_model, reranker->family());
    }
    if (args.rerank_depth < 1) fail("--rerank-depth must be >= 1, got {}", args.rerank_depth);
  }

  std::vector<LoadedResults> all;
  std::string rerank_tables, storage_tables;
  for (const ModelSource& source : sources) {
    const fs::path& model_dir = source.dir;
    const std::unique_ptr<EmbeddingModel> model = args.model.load(model_dir);
    // The folder name (a reference's NAME) keeps results of two checkpoints apart; the model's
    // own name is recorded.
    const std::string name = source.display_name();
    if ((args.token_pool_factor > 1 || !args.token_quantize.empty()) &&
        model->output_kind() != OutputKind::multi_vector) {
      fail("--token-pool-factor / --token-quantize: --model {} is a {} model with one vector "
           "per item; they apply to a multi-vector model's page tokens",
           source.given, model->family());
    }
    if (reranker && model->output_kind() != OutputKind::single_vector) {
      fail("--model {}: with --rerank-model, --model names the stage-1 dense model, and this "
           "one is multi-vector",
           source.given);
    }
    const json model_json = {{"name", name},
                             {"model_name", model->name()},
                             {"path", fs::absolute(model_dir).string()},
                             {"family", model->family()},
                             {"architecture", model->family()},
                             {"description", model->description()},
                             {"params", model->parameter_count()},
                             {"embed_dim", model->embed_dim()},
                             {"output", model->output_kind() == OutputKind::multi_vector
                                            ? "multi_vector"
                                            : "single_vector"},
                             {"similarity", similarity_name(model->similarity())},
                             {"logit_scale", model->logit_scale()},
                             {"logit_bias", model->logit_bias()},
                             {"text_padding", args.model.text.padding},
                             {"text_rules", model->text_rules()},
                             {"max_text_tokens", model->max_text_tokens()},
                             {"images_read", image_settings_json(*model, args.model)},
                             {"dtype", args.model.dtype},
                             {"device", model->backend_name()},
                             {"device_description", model->backend_description()},
                             {"sha256", weights_sha256(model_dir)},
                             {"hub", hub_json(source)}};
    for (const std::string& spec : args.datasets) {
      DatasetFlags dataset_flags{spec, args.split, args.image_root, args.allow_any_size};
      Dataset dataset = dataset_flags.open();
      std::fprintf(stderr, "%s on %s (%lld images, %lld captions)\n", name.c_str(), spec.c_str(),
                   static_cast<long long>(dataset.n_images()),
                   static_cast<long long>(dataset.n_captions()));
      EncodedDataset encoded = encode_dataset(*model, dataset, args.model.encode_options());
      const std::size_t skipped = encoded.bad_images.size();
      drop_images(dataset, encoded);
      const fs::path stem = out / name / (dataset.kind + "-" + dataset.split);
      const json files = write_embeddings(stem, encoded);

      const auto start = std::chrono::steady_clock::now();
      EvalResult result;
      json storage_sections = json::object();
      if (encoded.multi_vector()) {
        // Late interaction: MaxSim over the whole gallery (the tokens are unit vectors).
        result = evaluate_maxsim(dataset, encoded.image_tokens, encoded.text_tokens, eval_options);
        storage_sections = page_token_variants(dataset, encoded, result, args, eval_options,
                                               storage_tables);
      } else {
        MatrixF32 images = encoded.images, texts = encoded.texts;
        normalize_rows(images, "image embeddings of " + name);
        normalize_rows(texts, "text embeddings of " + name);
        result = evaluate(dataset, images, texts, eval_options);
      }

      ResultsContext context;
      context.model = model_json;
      context.embeddings = files;
      const EncodeSpeed& s = encoded.speed;
      context.speed = {{"image_encode_per_s", s.image_encode_per_s},
                       {"end_to_end_images_per_s", s.end_to_end_images_per_s},
                       {"text_encode_per_s", s.text_encode_per_s},
                       {"image_seconds", s.image_seconds},
                       {"text_seconds", s.text_seconds},
                       {"peak_rss_bytes", s.peak_rss_bytes},
                       {"batch", args.model.batch}};
      context.options = eval_options;
      context.command = "run";
      context.eval_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      json document = make_results_document(dataset, result, context);
      document["dataset"]["skipped_images"] = skipped;
      for (const auto& [key, section] : storage_sections.items()) document[key] = section;
      if (reranker && dataset.kind == "winoground") {
        std::fprintf(stderr, "%s: no two-stage re-ranking on winoground (no retrieval)\n",
                     spec.c_str());
      } else if (reranker) {
        // Stage 2: the re-ranking model's tokens of the same dataset (encoded once).
        auto found = rerank_encoded.find(spec);
        if (found == rerank_encoded.end()) {
          Dataset rerank_dataset = dataset_flags.open();
          std::fprintf(stderr, "%s (re-ranking) on %s\n", rerank_name.c_str(), spec.c_str());
          EncodedDataset tokens =
              encode_dataset(*reranker, rerank_dataset, args.model.encode_options());
          drop_images(rerank_dataset, tokens);
          write_embeddings(out / rerank_name / (dataset.kind + "-" + dataset.split), tokens);
          rerank_query_seconds[spec] =
              query_encode_seconds(*reranker, rerank_dataset, kLatencyQueries);
          found = rerank_encoded.emplace(spec, std::move(tokens)).first;
        }
        const EncodedDataset& tokens = found->second;
        if (tokens.image_tokens.n != dataset.n_images() ||
            tokens.text_tokens.n != dataset.n_captions()) {
          fail("{} on {}: the two models read {} and {} images (a bad image one decoder "
               "skipped and the other did not)",
               rerank_name, spec, dataset.n_images(), tokens.image_tokens.n);
        }
        MatrixF32 images = encoded.images, texts = encoded.texts;
        normalize_rows(images, "image embeddings of " + name);
        normalize_rows(texts, "text embeddings of " + name);
        RerankOptions rerank_options;
        rerank_options.depth = args.rerank_depth;
        const RerankResult rerank = evaluate_rerank(dataset, images, texts, tokens.image_tokens,
                                                    tokens.text_tokens, eval_options,
                                                    rerank_options);
        json section = rerank_json(rerank);
        section["model"] = {{"name", rerank_name},
                            {"model_name", reranker->name()},
                            {"path", fs::absolute(rerank_source.dir).string()},
                            {"family", reranker->family()},
                            {"description", reranker->description()},
                            {"params", reranker->parameter_count()},
                            {"embed_dim", reranker->embed_dim()},
                            {"sha256", weights_sha256(rerank_source.dir)},
                            {"hub", hub_json(rerank_source)}};
        section["speed"] = {{"image_encode_per_s", tokens.speed.image_encode_per_s},
                            {"end_to_end_images_per_s", tokens.speed.end_to_end_images_per_s},
                            {"text_encode_per_s", tokens.speed.text_encode_per_s}};
        // Per-query latency as a user sees it: each model encodes the query (one at a time),
        // then its stage searches. p50s add up to the two-stage p50 estimate.
        const std::vector<double> dense_seconds =
            query_encode_seconds(*model, dataset, kLatencyQueries);
        const json dense_encode = percentiles_json(dense_seconds);
        const json rerank_encode = percentiles_json(rerank_query_seconds[spec]);
        section["query_encode_seconds"] = {{"stage1_model", dense_encode},
                                           {"stage2_model", rerank_encode}};
        if (rerank.t2i) {
          const double s1 = dense_encode["p50"].get<double>() + rerank.t2i->stage1_latency.p50;
          section["t2i_query_seconds_p50"] = {
              {"stage1_only", s1},
              {"two_stage", s1 + rerank_encode["p50"].get<double>() +
                                rerank.t2i->stage2_latency.p50}};
        }
        rerank_tables += fmt::format("## {} → {} on {}\n\n", name, rerank_name, spec) +
                         render_rerank_markdown(section) +
                         fmt::format(
                             "t2i per query, encode included (p50): stage 1 only {:.3g} ms, "
                             "two-stage {:.3g} ms ({} queries encoded one at a time)\n\n",
                             1e3 * section["t2i_query_seconds_p50"]["stage1_only"].get<double>(),
                             1e3 * section["t2i_query_seconds_p50"]["two_stage"].get<double>(),
                             dense_encode["n"].get<std::int64_t>());
        document["rerank"] = std::move(section);
      }
      write_results(stem.string() + ".json", document, result);
      all.push_back(read_results(stem.string() + ".json"));
    }
  }
  // The study report (report.md, report.html) with the two-stage and storage sections; the
  // terminal gets the plain tables.
  write_file_atomic(out / "report.md",
                    render_study_markdown(all, index_bench) + rerank_tables + storage_tables);
  write_file_atomic(out / "report.html", render_study_html(all, index_bench));
  const std::string tables = render_markdown(all) + rerank_tables + storage_tables;
  std::fputs(tables.c_str(), stdout);
  std::printf(
      "\n### Speed\n\n| model | dataset | images/s (compute) | images/s (end to end) | "
      "captions/s | peak RSS (MiB) |\n| --- | --- | --- | --- | --- | --- |\n");
  for (const auto& r : all) {
    const json& s = r.document["speed"];
    std::printf("| %s | %s | %.1f | %.1f | %.1f | %.0f |\n",
                r.document["model"]["name"].get<std::string>().c_str(),
                r.document["dataset"]["kind"].get<std::string>().c_str(),
                s["image_encode_per_s"].get<double>(), s["end_to_end_images_per_s"].get<double>(),
                s["text_encode_per_s"].get<double>(),
                s["peak_rss_bytes"].get<double>() / (1 << 20));
  }
  std::printf("\nresults: %s\n", out.c_str());
}

}  // namespace

void add_encode_and_run(CLI::App& app) {
  {
    struct Args {
      std::string model, out;
      DatasetFlags dataset;
      ModelFlags flags;
    };
    auto args = std::make_shared<Args>();
    CLI::App* sub = app.add_subcommand(
        "encode", "Encode a dataset: IMAGES.npy + TEXTS.npy + manifest.json in the eval order");
    sub->add_option("--model", args->model, kModelHelp)->required();
    args->dataset.add_to(sub);
    args->flags.add_to(sub);
    sub->add_option("--out", args->out, "output folder")->required();
    sub->callback([args] { run_encode(args->model, args->dataset, args->flags, args->out); });
  }
  {
    auto args = std::make_shared<RunArgs>();
    CLI::App* sub = app.add_subcommand(
        "run", "Encode, evaluate and time models on datasets (no --model/--dataset: quickstart)");
    sub->add_option("--model", args->models, std::string(kModelHelp) + " (repeatable)");
    sub->add_option("--dataset", args->datasets, "KIND:PATH (repeatable)");
    sub->add_option("--protocol", args->protocol, "seed | standard | symmetric")
        ->check(CLI::IsMember({"seed", "standard", "symmetric"}))
        ->capture_default_str();
    sub->add_option("--split", args->split, "Karpathy split")->capture_default_str();
    sub->add_option("--image-root", args->image_root, "folder the image paths start at");
    sub->add_flag("--allow-any-size", args->allow_any_size, "accept any test split size");
    sub->add_option("--bootstrap", args->bootstrap, "bootstrap resamples")
        ->check(between(0, kMaxBootstrap))
        ->capture_default_str();
    sub->add_option("--seed", args->seed, "bootstrap seed")->capture_default_str();
    sub->add_option("--out", args->out, "output folder")->capture_default_str();
    sub->add_option("--rerank-model", args->rerank_model,
                    "a multi-vector model (ColPali; folder or ORG/NAME[@REVISION]) that re-ranks "
                    "each --model's dense top-N by MaxSim: the two-stage pipeline, with both "
                    "stages' metrics and latency");
    sub->add_option("--rerank-depth", args->rerank_depth, "N: dense candidates re-ranked")
        ->check(at_least(1))
        ->capture_default_str();
    sub->add_option("--token-pool-factor", args->token_pool_factor,
                    "multi-vector models: also evaluate page tokens pooled by hierarchical "
                    "clustering to 1/F of their count (colpali-engine's HierarchicalTokenPooler), "
                    "compared with unpooled MaxSim by the paired bootstrap")
        ->check(between(1, 1024))
        ->capture_default_str();
    sub->add_option("--token-quantize", args->token_quantize,
                    "multi-vector models: also evaluate bf16, int8 or binary page tokens (as "
                    "`serve --rerank-token-storage` holds them), compared with fp32 by the "
                    "paired bootstrap")
        ->check(CLI::IsMember({"bf16", "int8", "binary"}));
    sub->add_option("--index-bench", args->index_bench,
                    "index_bench.json of `vlbench index bench` (repeatable): the report's "
                    "decision table gets search rows by gallery size")
        ->check(CLI::ExistingFile);
    args->model.add_to(sub);
    sub->callback([args] { run_run(*args); });
  }
}

}  // namespace vlbench::cli
