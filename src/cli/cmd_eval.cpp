// vlbench eval: accuracy of precomputed embeddings on a dataset.
#include "cli/commands.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/report/results.hpp>

#include <chrono>
#include <cstdio>

namespace vlbench::cli {

namespace {

struct EvalArgs {
  std::string dataset;
  std::string image_embeddings;
  std::string text_embeddings;
  std::string protocol = "standard";
  std::string split = "test";
  std::string image_root;
  std::string model_name;
  std::string out;
  std::string gemm;
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  int threads = 0;
  bool allow_any_size = false;
};

nlohmann::ordered_json describe_embeddings(const std::string& path, const MatrixF32& m) {
  return {{"path", path}, {"sha256", sha256_file(path)}, {"rows", m.rows}, {"dim", m.cols}};
}

void run_eval(const EvalArgs& args) {
  DatasetOptions dataset_options;
  dataset_options.split = args.split;
  dataset_options.allow_any_size = args.allow_any_size;
  if (!args.image_root.empty()) dataset_options.image_root = args.image_root;
  const Dataset dataset = open_dataset(args.dataset, dataset_options);

  EvalOptions options;
  options.protocol = parse_protocol(args.protocol);
  options.bootstrap.n_resamples = args.bootstrap;
  options.bootstrap.seed = args.seed;
  options.threads = args.threads;
  options.gemm = args.gemm;

  const MatrixF32 images = load_unit_embeddings(args.image_embeddings, "image embeddings");
  const MatrixF32 texts = load_unit_embeddings(args.text_embeddings, "text embeddings");

  const auto start = std::chrono::steady_clock::now();
  const EvalResult result =
      evaluate(dataset, images, texts, options, args.image_embeddings, args.text_embeddings);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  ResultsContext context;
  const std::string name = !args.model_name.empty()
                               ? args.model_name
                               : std::filesystem::absolute(args.image_embeddings)
                                     .parent_path()
                                     .filename()
                                     .string();
  context.model = {{"name", name}, {"path", nullptr}, {"architecture", nullptr},
                   {"params", nullptr}, {"dtype", nullptr}, {"sha256", nullptr}};
  context.embeddings = {{"images", describe_embeddings(args.image_embeddings, images)},
                        {"texts", describe_embeddings(args.text_embeddings, texts)}};
  context.options = options;
  if (context.options.gemm.empty() && !result.winoground) context.options.gemm = "default";
  context.command = "eval";
  context.eval_seconds = seconds;
  nlohmann::ordered_json document = make_results_document(dataset, result, context);

  std::filesystem::path shown_path = args.out.empty() ? "(not saved)" : args.out;
  if (!args.out.empty()) write_results(args.out, document, result);

  LoadedResults shown;
  shown.path = shown_path;
  shown.document = std::move(document);
  std::fputs(render_markdown({shown}).c_str(), stdout);
  if (!args.out.empty()) std::printf("wrote %s\n", args.out.c_str());
}

}  // namespace

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand(
      "eval", "Recall@K / Winoground scores of precomputed embeddings, with bootstrap intervals");
  sub->add_option("--dataset", args->dataset,
                  "KIND:PATH with KIND coco-karpathy, flickr30k-karpathy, winoground or jsonl")
      ->required();
  sub->add_option("--image-embeddings", args->image_embeddings,
                  "IMAGES.npy [n_images, d] float32/float16, gallery order")
      ->required();
  sub->add_option("--text-embeddings", args->text_embeddings,
                  "TEXTS.npy [n_captions, d] float32/float16, gallery order")
      ->required();
  sub->add_option("--protocol", args->protocol, "seed | standard | symmetric")
      ->check(CLI::IsMember({"seed", "standard", "symmetric"}))
      ->capture_default_str();
  sub->add_option("--split", args->split, "Karpathy split: test | val | train | restval")
      ->capture_default_str();
  sub->add_option("--bootstrap", args->bootstrap, "bootstrap resamples (0: no intervals)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "bootstrap seed")->capture_default_str();
  sub->add_flag("--allow-any-size", args->allow_any_size,
                "accept test splits other than 5,000 (COCO) / 1,000 (Flickr30k) images");
  sub->add_option("--image-root", args->image_root, "folder the dataset's image paths start at");
  sub->add_option("--model-name", args->model_name,
                  "label for tables (default: the image embeddings' folder name)");
  sub->add_option("--out", args->out, "write the results document (JSON) here");
  sub->add_option("--threads", args->threads, "threads (0: all cores)")->capture_default_str();
  sub->add_option("--gemm", args->gemm, "GEMM backend: openblas | onednn (default: openblas)");
  sub->callback([args] { run_eval(*args); });
}

}  // namespace vlbench::cli
