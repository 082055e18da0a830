// vlbench eval: accuracy of precomputed embeddings on a dataset.
#include "cli/commands.hpp"
#include "cli/dataset_flags.hpp"
#include "cli/list_file.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/eval/compare.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/eval/rerank.hpp>
#include <vlbench/index/maxsim.hpp>
#include <vlbench/index/quantize.hpp>
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
  // Two-stage re-ranking (all four token files together) and quantized re-evaluation.
  std::string rerank_text_tokens;
  std::string rerank_text_lengths;
  std::string rerank_image_tokens;
  std::string rerank_image_lengths;
  std::int64_t rerank_depth = 100;
  bool rerank_depth_given = false;
  std::string quantize;

  bool rerank() const {
    return !rerank_text_tokens.empty() || !rerank_text_lengths.empty() ||
           !rerank_image_tokens.empty() || !rerank_image_lengths.empty();
  }
};

// The four token files come together; --rerank-depth needs them.
void check_rerank_flags(const EvalArgs& args) {
  const std::pair<const char*, const std::string*> files[] = {
      {"--rerank-text-tokens", &args.rerank_text_tokens},
      {"--rerank-text-lengths", &args.rerank_text_lengths},
      {"--rerank-image-tokens", &args.rerank_image_tokens},
      {"--rerank-image-lengths", &args.rerank_image_lengths}};
  if (!args.rerank()) {
    if (args.rerank_depth_given) {
      fail(
          "--rerank-depth needs --rerank-text-tokens, --rerank-text-lengths, "
          "--rerank-image-tokens and --rerank-image-lengths");
    }
    return;
  }
  std::string missing;
  for (const auto& [flag, value] : files) {
    if (value->empty()) missing += (missing.empty() ? "" : ", ") + std::string(flag);
  }
  if (!missing.empty()) {
    fail(
        "re-ranking needs all four of --rerank-text-tokens, --rerank-text-lengths, "
        "--rerank-image-tokens, --rerank-image-lengths; missing {}",
        missing);
  }
  if (args.rerank_depth < 1) fail("--rerank-depth must be >= 1, got {}", args.rerank_depth);
}

nlohmann::ordered_json describe_file(const std::string& path) {
  return {{"path", path}, {"sha256", sha256_file(path)}};
}

nlohmann::ordered_json describe_embeddings(const std::string& path, const MatrixF32& m) {
  return {{"path", path}, {"sha256", sha256_file(path)}, {"rows", m.rows}, {"dim", m.cols}};
}

void run_eval(const EvalArgs& args) {
  refuse_overwriting_inputs(args.out, {args.image_embeddings, args.text_embeddings});
  check_rerank_flags(args);
  const Quantization quantization =
      args.quantize.empty() ? Quantization::none : parse_quantization(args.quantize);
  const Dataset dataset = args.dataset.open();

  EvalOptions options;
  options.protocol = parse_protocol(args.protocol);
  options.bootstrap.n_resamples = args.bootstrap;
  options.bootstrap.seed = args.seed;
  options.threads = args.threads;
  options.gemm = args.gemm;

  const MatrixF32 images = load_unit_embeddings(args.image_embeddings, "image embeddings");
  const MatrixF32 texts = load_unit_embeddings(args.text_embeddings, "text embeddings");
  MultiVectorSet text_tokens, image_tokens;
  if (args.rerank()) {
    text_tokens =
        load_multi_vectors(args.rerank_text_tokens, args.rerank_text_lengths, "text tokens");
    image_tokens =
        load_multi_vectors(args.rerank_image_tokens, args.rerank_image_lengths, "image tokens");
  }

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
  std::string extra_tables;

  if (args.rerank()) {
    const RerankResult rerank = evaluate_rerank(dataset, images, texts, image_tokens, text_tokens,
                                                options, {args.rerank_depth});
    nlohmann::ordered_json section = rerank_json(rerank);
    section["tokens"] = {{"text_tokens", describe_file(args.rerank_text_tokens)},
                         {"text_lengths", describe_file(args.rerank_text_lengths)},
                         {"image_tokens", describe_file(args.rerank_image_tokens)},
                         {"image_lengths", describe_file(args.rerank_image_lengths)},
                         {"dim", text_tokens.d}};
    extra_tables += render_rerank_markdown(section);
    document["rerank"] = std::move(section);
  }

  if (quantization != Quantization::none) {
    // Quantized scores = exact dot products of the dequantized unit embeddings (quantize.hpp).
    MatrixF32 q_images = images;
    MatrixF32 q_texts = texts;
    quantize_dequantize(quantization, q_images.values.data(), q_images.rows, q_images.cols);
    quantize_dequantize(quantization, q_texts.values.data(), q_texts.rows, q_texts.cols);
    const EvalResult quantized =
        evaluate(dataset, q_images, q_texts, options, args.image_embeddings, args.text_embeddings);
    const std::vector<MetricComparison> paired = compare_per_query(
        per_query_of(result), per_query_of(quantized), options.bootstrap, options.threads);
    nlohmann::ordered_json section =
        quantization_json(quantization_name(quantization), result, quantized, paired);
    extra_tables += render_quantization_markdown(section);
    document["quantization"] = std::move(section);
  }

  std::filesystem::path shown_path = args.out.empty() ? "(not saved)" : args.out;
  if (!args.out.empty()) write_results(args.out, document, result);

  LoadedResults shown;
  shown.path = shown_path;
  shown.document = std::move(document);
  std::fputs(render_markdown({shown}).c_str(), stdout);
  std::fputs(extra_tables.c_str(), stdout);
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
      ->check(between(0, kMaxBootstrap))
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "bootstrap seed")->capture_default_str();
  sub->add_option("--model-name", args->model_name,
                  "label for tables (default: the image embeddings' folder name)");
  sub->add_option("--out", args->out, "write the results document (JSON) here");
  sub->add_option("--threads", args->threads, "threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  sub->add_option("--gemm", args->gemm,
                  "GEMM backend: openblas | onednn (default: onednn when built)");
  sub->add_option("--rerank-text-tokens", args->rerank_text_tokens,
                  "two-stage: caption token vectors T.npy [n_captions, t_max, d] float32/float16");
  sub->add_option("--rerank-text-lengths", args->rerank_text_lengths,
                  "two-stage: caption token counts TL.npy [n_captions] int32");
  sub->add_option("--rerank-image-tokens", args->rerank_image_tokens,
                  "two-stage: image patch vectors I.npy [n_images, t_max, d] float32/float16");
  sub->add_option("--rerank-image-lengths", args->rerank_image_lengths,
                  "two-stage: image token counts IL.npy [n_images] int32");
  CLI::Option* depth = sub->add_option("--rerank-depth", args->rerank_depth,
                                       "two-stage: dense candidates re-scored by MaxSim")
                           ->capture_default_str();
  sub->add_option("--quantize", args->quantize,
                  "also evaluate int8 | binary quantized embeddings, paired against fp32")
      ->check(CLI::IsMember({"int8", "binary"}));
  sub->callback([args, depth] {
    args->rerank_depth_given = depth->count() > 0;
    run_eval(*args);
  });
}

}  // namespace vlbench::cli
