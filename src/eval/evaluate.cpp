#include "eval/internal.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/kernels/gemm.hpp>

namespace vlbench {

namespace {

void check_rows(const MatrixF32& m, std::int64_t expected, const std::string& source,
                const std::string& what, const Dataset& dataset) {
  if (m.rows != expected) {
    fail("{}: has {} rows, expected {} ({} of {} split '{}' in gallery order)", source, m.rows,
         expected, what, dataset.annotation_path.string(), dataset.split);
  }
}

}  // namespace

EvalResult evaluate(const Dataset& dataset, const MatrixF32& images, const MatrixF32& texts,
                    const EvalOptions& options, const std::string& image_source,
                    const std::string& text_source) {
  const bool is_winoground = dataset.kind == "winoground";
  check_rows(images, dataset.n_images(), image_source,
             is_winoground ? "image_0, image_1 of each example" : "one per image", dataset);
  check_rows(texts, dataset.n_captions(), text_source,
             is_winoground ? "caption_0, caption_1 of each example" : "every caption", dataset);
  if (images.cols != texts.cols) {
    fail("{} has dimension {} but {} has dimension {}: expected the same", image_source,
         images.cols, text_source, texts.cols);
  }
  if (options.bootstrap.n_resamples < 0) {
    fail("--bootstrap must be >= 0, got {}", options.bootstrap.n_resamples);
  }

  ThreadPool pool(options.threads);
  EvalResult result;
  if (is_winoground) {
    result.protocol = "winoground";
    result.winoground = run_winoground(dataset, images, texts, pool, options.bootstrap);
    return result;
  }

  result.protocol = protocol_name(options.protocol);
  result.gemm = options.gemm.empty() ? default_gemm_backend() : options.gemm;
  const auto gemm = make_gemm(result.gemm);
  gemm->set_threads(pool.size());
  const RetrievalTask t2i = make_task(dataset, options.protocol, Direction::t2i);
  result.t2i = run_retrieval(t2i, texts, images, *gemm, pool, options.bootstrap);
  const RetrievalTask i2t = make_task(dataset, options.protocol, Direction::i2t);
  result.i2t = run_retrieval(i2t, images, texts, *gemm, pool, options.bootstrap);
  return result;
}

}  // namespace vlbench
