#include <vlbench/core/error.hpp>
#include <vlbench/core/process_stats.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/pipeline/encode.hpp>
#include <vlbench/vision/image.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <numeric>
#include <thread>

namespace vlbench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// "\r  images 320/5000  85.2/s  ETA 55 s" on a terminal.
class Progress {
 public:
  Progress(const char* what, std::int64_t total, bool enabled)
      : what_(what), total_(total), enabled_(enabled && isatty(STDERR_FILENO)) {}
  void update(std::int64_t done) {
    if (!enabled_) return;
    const double elapsed = seconds_since(start_);
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
    std::fprintf(stderr, "\r  %s %lld/%lld  %.1f/s  ETA %.0f s   ", what_,
                 static_cast<long long>(done), static_cast<long long>(total_), rate, eta);
    if (done == total_) std::fputc('\n', stderr);
  }

 private:
  const char* what_;
  std::int64_t total_;
  bool enabled_;
  Clock::time_point start_ = Clock::now();
};

// Two pixel buffers: the producer thread decodes and preprocesses batch k into slot k % 2
// while this thread encodes batch k - 1 from the other slot.
class ImagePipeline {
 public:
  ImagePipeline(const EmbeddingModel& model, const Dataset& dataset, const PreprocessConfig& config,
                const EncodeOptions& options, EncodedDataset& out)
      : model_(model), dataset_(dataset), config_(config), options_(options), out_(out) {
    per_image_ = 3 * static_cast<std::int64_t>(config.output_height()) * config.output_width();
    batch_ = std::max(1, options.batch);
    for (auto& slot : slots_) slot.resize(static_cast<std::size_t>(batch_ * per_image_));
  }

  void run() {
    start_ = Clock::now();
    const std::int64_t n = dataset_.n_images();
    const std::int64_t n_batches = (n + batch_ - 1) / batch_;
    std::thread producer([&] { produce(n, n_batches); });
    Progress progress("images", n, options_.progress);
    try {
      for (std::int64_t k = 0; k < n_batches; ++k) {
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [&] { return produced_ > k || error_; });
          if (error_) std::rethrow_exception(error_);
        }
        const std::int64_t first = k * batch_;
        const std::int64_t count = std::min<std::int64_t>(batch_, n - first);
        model_.encode_images(slots_[k % 2].data(), count, image_rows(first));
        if (k == 0 && options_.progress) estimate(count, n);
        {
          std::lock_guard lock(mutex_);
          consumed_ = k + 1;
        }
        changed_.notify_all();
        progress.update(first + count);
      }
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        abort_ = true;
      }
      changed_.notify_all();
      producer.join();
      throw;
    }
    producer.join();
    last_batch_ = n_batches - 1;
  }

  // Images/s of encode_images alone on the last batch's pixels (median of 3).
  double compute_only_rate() const {
    const std::int64_t n = dataset_.n_images();
    const std::int64_t first = last_batch_ * batch_;
    const std::int64_t count = std::min<std::int64_t>(batch_, n - first);
    std::vector<float> scratch(
        static_cast<std::size_t>(count * model_.image_vectors() * model_.embed_dim()));
    std::vector<double> times;
    for (int rep = 0; rep < 3; ++rep) {
      const auto start = Clock::now();
      model_.encode_images(slots_[last_batch_ % 2].data(), count, scratch.data());
      times.push_back(seconds_since(start));
    }
    std::sort(times.begin(), times.end());
    return count / times[1];
  }

 private:
  // After the first batch: when the whole gallery will take more than a minute at that pace,
  // say so before waiting (a ColPali page is tens of seconds on a small CPU).
  void estimate(std::int64_t done, std::int64_t n) const {
    const double per_image = seconds_since(start_) / static_cast<double>(done);
    const double total = per_image * static_cast<double>(n);
    if (total < 60.0) return;
    std::fprintf(stderr,
                 "  images: %.1f s each in the first batch: about %.0f min for all %lld "
                 "(--batch and --threads change it)\n",
                 per_image, total / 60.0, static_cast<long long>(n));
  }

  // Where image `first`'s output rows go.
  float* image_rows(std::int64_t first) {
    if (out_.image_tokens.n > 0) {
      MultiVectorSet& t = out_.image_tokens;
      return t.tokens.data() + first * t.t_max * t.d;
    }
    return out_.images.row(first);
  }

  void produce(std::int64_t n, std::int64_t n_batches) {
    try {
      ThreadPool pool(options_.threads);
      for (std::int64_t k = 0; k < n_batches; ++k) {
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [&] { return k - consumed_ < 2 || abort_; });
          if (abort_) return;
        }
        const std::int64_t first = k * batch_;
        const std::int64_t count = std::min<std::int64_t>(batch_, n - first);
        float* slot = slots_[k % 2].data();
        pool.parallel_for(
            count,
            [&](std::int64_t begin, std::int64_t end) {
              for (std::int64_t i = begin; i < end; ++i) {
                float* pixels = slot + i * per_image_;
                const auto image = static_cast<std::int32_t>(first + i);
                try {
                  // In the file's own mode: the model's config says where it turns RGB.
                  DecodeOptions decode;
                  decode.max_pixels = options_.max_image_pixels;
                  decode.exif_orientation = options_.exif_orientation;
                  preprocess(decode_image_native(dataset_.image_paths[image], decode), config_,
                             pixels);
                } catch (const Error& e) {
                  // Recorded, encoded as zeros, and reported or dropped by the caller.
                  std::fill(pixels, pixels + per_image_, 0.0f);
                  std::lock_guard lock(mutex_);
                  out_.bad_images.push_back(image);
                  out_.bad_image_errors.push_back(e.what());
                }
              }
            },
            1);
        {
          std::lock_guard lock(mutex_);
          produced_ = k + 1;
        }
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      changed_.notify_all();
    }
  }

  const EmbeddingModel& model_;
  const Dataset& dataset_;
  const PreprocessConfig& config_;
  const EncodeOptions& options_;
  EncodedDataset& out_;
  std::int64_t per_image_ = 0;
  std::int64_t batch_ = 1;
  std::int64_t last_batch_ = 0;
  std::vector<float> slots_[2];
  std::mutex mutex_;
  std::condition_variable changed_;
  std::int64_t produced_ = 0;
  std::int64_t consumed_ = 0;
  Clock::time_point start_ = Clock::now();
  bool abort_ = false;
  std::exception_ptr error_;
};

void encode_captions(const EmbeddingModel& model, const Dataset& dataset,
                     const EncodeOptions& options, EncodedDataset& out) {
  const std::int64_t n = dataset.n_captions();
  const std::int64_t batch = std::max(1, options.batch);
  std::vector<std::vector<std::int32_t>> ids;
  ids.reserve(static_cast<std::size_t>(n));
  for (std::int64_t first = 0; first < n; first += batch) {
    const std::int64_t end = std::min(n, first + batch);
    const std::vector<std::string> texts(dataset.captions.begin() + first,
                                         dataset.captions.begin() + end);
    std::vector<std::vector<std::int32_t>> batch_ids;
    try {
      batch_ids = model.tokenize(texts);
    } catch (const Error&) {
      // Name the caption by its index in the dataset: find it on its own.
      for (std::size_t j = 0; j < texts.size(); ++j) {
        try {
          model.tokenize({texts[j]});
        } catch (const Error& e) {
          fail("{}: caption {} (0-based, in evaluation order): {}",
               dataset.annotation_path.string(), first + static_cast<std::int64_t>(j), e.what());
        }
      }
      throw;
    }
    for (auto& caption : batch_ids) ids.push_back(std::move(caption));
  }

  // Batches of captions of similar length (sorted, stable), so the encoder's GEMMs are full.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int64_t a, std::int64_t b) { return ids[a].size() < ids[b].size(); });
  const std::int64_t d = model.embed_dim();
  // Rows per caption: 1, or one per token (multi-vector models, into text_tokens' items).
  std::vector<std::int64_t> vectors(static_cast<std::size_t>(n), 1);
  MultiVectorSet& tokens = out.text_tokens;
  if (model.output_kind() == OutputKind::multi_vector) {
    std::int64_t t_max = 0;
    tokens.lengths.resize(static_cast<std::size_t>(n));
    for (std::int64_t c = 0; c < n; ++c) {
      vectors[c] = model.text_vectors(ids[c]);
      tokens.lengths[c] = static_cast<std::int32_t>(vectors[c]);
      t_max = std::max(t_max, vectors[c]);
    }
    tokens.n = n;
    tokens.t_max = t_max;
    tokens.d = d;
    tokens.tokens.assign(static_cast<std::size_t>(n * t_max * d), 0.0f);
  }
  std::vector<float> rows;
  Progress progress("captions", n, options.progress);
  for (std::int64_t first = 0; first < n; first += batch) {
    const std::int64_t count = std::min(batch, n - first);
    std::vector<std::vector<std::int32_t>> group;
    std::int64_t group_rows = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      group.push_back(ids[order[first + i]]);
      group_rows += vectors[order[first + i]];
    }
    rows.resize(static_cast<std::size_t>(group_rows * d));
    model.encode_texts(group, rows.data());
    std::int64_t row = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t c = order[first + i];
      float* dst = tokens.n > 0 ? tokens.tokens.data() + c * tokens.t_max * d : out.texts.row(c);
      std::memcpy(dst, rows.data() + row * d, sizeof(float) * vectors[c] * d);
      row += vectors[c];
    }
    progress.update(first + count);
  }
}

}  // namespace

EncodedDataset encode_dataset(const EmbeddingModel& model, const Dataset& dataset,
                              const EncodeOptions& options) {
  const PreprocessConfig& config = model.preprocess_config();
  const std::int64_t d = model.embed_dim();
  EncodedDataset out;
  if (model.output_kind() == OutputKind::multi_vector) {
    const std::int64_t vectors = model.image_vectors();
    out.images = {0, d, {}};
    out.texts = {0, d, {}};
    out.image_tokens = {dataset.n_images(), vectors, d,
                        std::vector<float>(static_cast<std::size_t>(dataset.n_images() * vectors * d)),
                        std::vector<std::int32_t>(static_cast<std::size_t>(dataset.n_images()),
                                                  static_cast<std::int32_t>(vectors))};
  } else {
    out.images = {dataset.n_images(), d, std::vector<float>(dataset.n_images() * d)};
    out.texts = {dataset.n_captions(), d, std::vector<float>(dataset.n_captions() * d)};
  }

  if (dataset.n_images() > 0) {
    ImagePipeline pipeline(model, dataset, config, options, out);
    const auto start = Clock::now();
    pipeline.run();
    out.speed.image_seconds = seconds_since(start);
    out.speed.end_to_end_images_per_s = dataset.n_images() / out.speed.image_seconds;
    out.speed.image_encode_per_s = pipeline.compute_only_rate();
  }
  std::sort(out.bad_images.begin(), out.bad_images.end());
  for (std::int32_t image : out.bad_images) {
    if (out.image_tokens.n > 0) {
      float* item = out.image_tokens.tokens.data() + image * out.image_tokens.t_max * d;
      std::fill(item, item + out.image_tokens.t_max * d, 0.0f);
    } else {
      std::fill(out.images.row(image), out.images.row(image) + d, 0.0f);
    }
  }
  if (!out.bad_images.empty() && !options.skip_bad_images) {
    std::string first;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, out.bad_image_errors.size()); ++i) {
      first += (i ? "; " : "") + out.bad_image_errors[i];
    }
    fail("{} of {} images could not be read (first: {}); --skip-bad-images leaves them out",
         out.bad_images.size(), dataset.n_images(), first);
  }

  if (dataset.n_captions() > 0) {
    const auto start = Clock::now();
    encode_captions(model, dataset, options, out);
    out.speed.text_seconds = seconds_since(start);
    out.speed.text_encode_per_s = dataset.n_captions() / out.speed.text_seconds;
  }
  out.speed.peak_rss_bytes = peak_rss_bytes();
  return out;
}

void drop_images(Dataset& dataset, EncodedDataset& encoded) {
  if (encoded.bad_images.empty()) return;
  std::vector<bool> bad(static_cast<std::size_t>(dataset.n_images()), false);
  for (std::int32_t image : encoded.bad_images) bad[image] = true;
  if (dataset.kind == "winoground") {
    // An example needs both of its images: drop whole examples.
    for (std::size_t e = 0; e < dataset.examples.size(); ++e) {
      if (bad[2 * e] || bad[2 * e + 1]) bad[2 * e] = bad[2 * e + 1] = true;
    }
  }
  Dataset kept = dataset;
  kept.image_paths.clear();
  kept.image_ids.clear();
  kept.captions.clear();
  kept.caption_image.clear();
  kept.image_caption_begin = {0};
  kept.examples.clear();
  const bool multi = encoded.multi_vector();
  const std::int64_t d = encoded.images.cols;
  MatrixF32 images{0, d, {}}, texts{0, d, {}};
  MultiVectorSet image_tokens = encoded.image_tokens, text_tokens = encoded.text_tokens;
  image_tokens.tokens.clear();
  image_tokens.lengths.clear();
  text_tokens.tokens.clear();
  text_tokens.lengths.clear();
  auto keep_item = [](const MultiVectorSet& from, std::int64_t i, MultiVectorSet& to) {
    const float* item = from.item(i);
    to.tokens.insert(to.tokens.end(), item, item + from.t_max * from.d);
    to.lengths.push_back(from.lengths[i]);
  };
  for (std::int64_t i = 0; i < dataset.n_images(); ++i) {
    if (bad[i]) continue;
    if (dataset.kind == "winoground" && i % 2 == 0)
      kept.examples.push_back(dataset.examples[i / 2]);
    const auto new_index = static_cast<std::int32_t>(kept.image_paths.size());
    kept.image_paths.push_back(dataset.image_paths[i]);
    kept.image_ids.push_back(dataset.image_ids[i]);
    if (multi) {
      keep_item(encoded.image_tokens, i, image_tokens);
    } else {
      images.values.insert(images.values.end(), encoded.images.row(i), encoded.images.row(i) + d);
    }
    for (auto c = dataset.image_caption_begin[i]; c < dataset.image_caption_begin[i + 1]; ++c) {
      kept.captions.push_back(dataset.captions[c]);
      kept.caption_image.push_back(new_index);
      if (multi) {
        keep_item(encoded.text_tokens, c, text_tokens);
      } else {
        texts.values.insert(texts.values.end(), encoded.texts.row(c), encoded.texts.row(c) + d);
      }
    }
    kept.image_caption_begin.push_back(static_cast<std::int32_t>(kept.captions.size()));
  }
  if (multi) {
    image_tokens.n = kept.n_images();
    text_tokens.n = kept.n_captions();
    encoded.image_tokens = std::move(image_tokens);
    encoded.text_tokens = std::move(text_tokens);
  } else {
    images.rows = kept.n_images();
    texts.rows = kept.n_captions();
    encoded.images = std::move(images);
    encoded.texts = std::move(texts);
  }
  dataset = std::move(kept);
}

}  // namespace vlbench
