// vlbench eval: accuracy of precomputed embeddings on a dataset.
#include "cli/commands.hpp"
#include "cli/dataset_flags.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/report/results.hpp>

#include <chrono>
#include <cstdio>

namespace vlbench::cli {

namespace {

struct EvalArgs {
  DatasetFlags dataset;
  std::string image_embeddings;
  std::string text_embeddings;
  std::string protocol = "standard";
  std::string model_name;
  std::string out;
  std::string gemm;
  int bootstrap = 1000;
  std::uint64_t seed = 0;
  int threads = 0;
};

nlohmann::ordered_json describe_embeddings(const std::string& path, const MatrixF32& m) {
  return {{"path", path}, {"sha256", sha256_file(path)}, {"rows", m.rows}, {"dim", m.cols}};
}

void run_eval(const EvalArgs& args) {
  const Dataset dataset = args.dataset.open();

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
  const std::string name =
      !args.model_name.empty()
          ? args.model_name
          : std::filesystem::absolute(args.image_embeddings).parent_path().filename().string();
  context.model = {{"name", name},      {"path", nullptr},  {"architecture", nullptr},
                   {"params", nullptr}, {"dtype", nullptr}, {"sha256", nullptr}};
  context.embeddings = {{"images", describe_embeddings(args.image_embeddings, images)},
                        {"texts", describe_embeddings(args.text_embeddings, texts)}};
  context.options = options;
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
  args->dataset.add_to(sub);
  sub->add_option("--image-embeddings", args->image_embeddings,
                  "IMAGES.npy [n_images, d] float32/float16, gallery order")
      ->required();
  sub->add_option("--text-embeddings", args->text_embeddings,
                  "TEXTS.npy [n_captions, d] float32/float16, gallery order")
      ->required();
  sub->add_option("--protocol", args->protocol, "seed | standard | symmetric")
      ->check(CLI::IsMember({"seed", "standard", "symmetric"}))
      ->capture_default_str();
  sub->add_option("--bootstrap", args->bootstrap, "bootstrap resamples (0: no intervals)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "bootstrap seed")->capture_default_str();
  sub->add_option("--model-name", args->model_name,
                  "label for tables (default: the image embeddings' folder name)");
  sub->add_option("--out", args->out, "write the results document (JSON) here");
  sub->add_option("--threads", args->threads, "threads (0: all cores)")->capture_default_str();
  sub->add_option("--gemm", args->gemm,
                  "GEMM backend: openblas | onednn (default: onednn when built)");
  sub->callback([args] { run_eval(*args); });
}

}  // namespace vlbench::cli
