// Karpathy split files (dataset_coco.json, dataset_flickr30k.json):
//   {"images": [{"filepath": "val2014", "filename": "...jpg", "split": "test",
//                "sentences": [{"raw": "...", "tokens": [...], ...}, ...],
//                "cocoid": 391895, "imgid": 0, "sentids": [...]}, ...],
//    "dataset": "coco"}
// The real COCO file is ~150 MB with 123k images. It is read with nlohmann's SAX interface and
// only one images[] entry at a time is held as a JSON value, so memory stays near the size of
// the selected split instead of the several GB a full DOM of that file takes. The unused
// `tokens` lists are not even built: that halves the parse time.
#include "data/json_file.hpp"
#include "data/readers.hpp"

#include "vlbench/core/error.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace vlbench::data {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 4> kSplits = {"test", "val", "train", "restval"};

// Builds one JSON value from SAX events. (nlohmann's own builder is in its detail namespace.)
class ValueBuilder {
 public:
  void begin() {
    root_ = json();
    stack_.clear();
  }
  void value(json v) { place(std::move(v)); }
  void start_object() { stack_.push_back(place(json::object())); }
  void start_array() { stack_.push_back(place(json::array())); }
  void key(std::string& name) { key_ = std::move(name); }
  void end() { stack_.pop_back(); }
  bool complete() const { return stack_.empty(); }
  json& root() { return root_; }

 private:
  // Containers on the stack are only ever appended to while they are the innermost open one,
  // so the pointers stay valid until popped.
  json* place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }

  json root_;
  std::vector<json*> stack_;
  std::string key_;
};

// "images[12] (cocoid 391895)": the entry's index in the file plus its id, when it has one.
std::string entry_label(const json& entry, std::size_t index) {
  std::string label = fmt::format("images[{}]", index);
  for (const char* name : {"cocoid", "imgid"}) {
    auto it = entry.find(name);
    if (it == entry.end()) continue;
    if (it->is_number_integer() || it->is_string()) {
      return fmt::format("{} ({} {})", label, name,
                         it->is_string() ? it->get<std::string>() : it->dump());
    }
  }
  return label;
}

class KarpathyReader {
 public:
  KarpathyReader(KarpathyCorpus corpus, const std::filesystem::path& annotation,
                 std::string_view text, const std::filesystem::path& image_base,
                 const DatasetOptions& options)
      : corpus_(corpus),
        annotation_(annotation),
        text_(text),
        image_base_(image_base),
        options_(options) {
    dataset_.split = options.split;
    dataset_.image_caption_begin.push_back(0);
  }

  Dataset read() {
    json::sax_parse(text_, this);
    if (!saw_images_) fail("{}: field 'images' missing", annotation_.string());
    return std::move(dataset_);
  }

  // nlohmann SAX interface. Context outside the entry being built: the top-level object, the
  // images list, and containers that are skipped (any other top-level field).
  // Scalars of a skipped value are dropped before a json is made of them.
  bool null() { return skipping() || scalar(json(nullptr)); }
  bool boolean(bool v) { return skipping() || scalar(json(v)); }
  bool number_integer(json::number_integer_t v) { return skipping() || scalar(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return skipping() || scalar(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) {
    return skipping() || scalar(json(v));
  }
  bool string(json::string_t& v) { return skipping() || scalar(json(std::move(v))); }
  bool binary(json::binary_t& v) { return skipping() || scalar(json(json::binary_t(v))); }

  bool start_object(std::size_t) {
    if (skipping()) {
      ++skip_depth_;
    } else if (building_) {
      entry_.start_object();
    } else if (context_.empty()) {
      context_.push_back(Context::top);
    } else if (context_.back() == Context::images) {
      building_ = true;
      entry_.begin();
      entry_.start_object();
    } else {
      check_images_field("an object");
      context_.push_back(Context::skip);
    }
    return true;
  }

  bool start_array(std::size_t) {
    if (skipping()) {
      ++skip_depth_;
    } else if (building_) {
      entry_.start_array();
    } else if (context_.empty()) {
      fail_top_level("a list");
    } else if (context_.back() == Context::images) {
      fail_not_object("a list");
    } else if (context_.back() == Context::top && top_key_ == "images") {
      saw_images_ = true;
      context_.push_back(Context::images);
    } else {
      context_.push_back(Context::skip);
    }
    return true;
  }

  bool end_object() { return end_container(); }
  bool end_array() { return end_container(); }

  bool key(json::string_t& name) {
    if (skip_depth_ > 0) {
      // inside a skipped value
    } else if (building_) {
      // Tokens are a third of the file and never used: their values are not built.
      if (name == "tokens") {
        skip_next_ = true;
      } else {
        entry_.key(name);
      }
    } else if (context_.back() == Context::top) {
      top_key_ = std::move(name);
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const json::exception& error) {
    fail_json_syntax(annotation_, text_, position, parse_error_reason(error));
  }

 private:
  enum class Context { top, images, skip };

  // True for an event that belongs to a value that is not built (sentences' tokens); consumes
  // the pending skip of the value that starts with this event.
  bool skipping() {
    if (skip_next_) {
      skip_next_ = false;
      return true;
    }
    return skip_depth_ > 0;
  }

  bool scalar(json value) {
    if (building_) {
      entry_.value(std::move(value));
    } else if (context_.empty()) {
      fail_top_level(json_type_name(value));
    } else if (context_.back() == Context::images) {
      fail_not_object(json_type_name(value));
    } else {
      check_images_field(json_type_name(value));
    }
    return true;
  }

  bool end_container() {
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    if (!building_) {
      context_.pop_back();
      return true;
    }
    entry_.end();
    if (entry_.complete()) {
      building_ = false;
      add_entry(entry_.root(), n_entries_++);
    }
    return true;
  }

  void check_images_field(const std::string& type) {
    if (context_.back() == Context::top && top_key_ == "images") {
      fail("{}: field 'images' must be a list, got {}", annotation_.string(), type);
    }
  }
  [[noreturn]] void fail_top_level(const std::string& type) {
    fail("{}: expected a JSON object with an 'images' list at the top level, got {}",
         annotation_.string(), type);
  }
  [[noreturn]] void fail_not_object(const std::string& type) {
    fail("{}: images[{}]: expected a JSON object, got {}", annotation_.string(), n_entries_, type);
  }

  void add_entry(const json& entry, std::size_t index) {
    const std::string where =
        fmt::format("{}: {}", annotation_.string(), entry_label(entry, index));
    if (require_string(entry, "split", where) != options_.split) return;

    std::filesystem::path relative = require_string(entry, "filename", where);
    // COCO images sit in train2014/ or val2014/, named by `filepath`; Flickr30k has no folder.
    if (corpus_ == KarpathyCorpus::coco || entry.contains("filepath")) {
      relative = std::filesystem::path(require_string(entry, "filepath", where)) / relative;
    }
    std::string id;
    if (entry.contains("cocoid")) {
      id = require_id(entry, "cocoid", where);
    } else if (entry.contains("imgid")) {
      id = require_id(entry, "imgid", where);
    } else {
      id = relative.filename().string();
    }

    const json& sentences = require_array(entry, "sentences", where);
    if (sentences.empty()) {
      fail("{}: field 'sentences' is empty (every image needs at least one caption)", where);
    }
    const auto image = static_cast<std::int32_t>(dataset_.image_paths.size());
    for (std::size_t i = 0; i < sentences.size(); ++i) {
      dataset_.captions.push_back(
          require_string(sentences[i], "raw", fmt::format("{}: sentences[{}]", where, i)));
      dataset_.caption_image.push_back(image);
    }
    dataset_.image_paths.push_back(image_base_ / relative);
    dataset_.image_ids.push_back(std::move(id));
    dataset_.image_caption_begin.push_back(static_cast<std::int32_t>(dataset_.captions.size()));
  }

  KarpathyCorpus corpus_;
  const std::filesystem::path& annotation_;
  std::string_view text_;
  const std::filesystem::path& image_base_;
  const DatasetOptions& options_;
  Dataset dataset_;

  std::vector<Context> context_;
  std::string top_key_;
  bool saw_images_ = false;
  bool building_ = false;
  ValueBuilder entry_;
  bool skip_next_ = false;     // the next value is a skipped field's
  int skip_depth_ = 0;         // open containers inside a skipped field
  std::size_t n_entries_ = 0;  // images[] entries seen so far, all splits
};

}  // namespace

Dataset read_karpathy(KarpathyCorpus corpus, const std::filesystem::path& annotation,
                      std::string_view text, const std::filesystem::path& image_base,
                      const DatasetOptions& options) {
  bool known = false;
  for (std::string_view split : kSplits) known = known || split == options.split;
  if (!known) {
    fail("{}: unknown split '{}': expected one of test, val, train, restval", annotation.string(),
         options.split);
  }

  Dataset dataset = KarpathyReader(corpus, annotation, text, image_base, options).read();
  if (dataset.image_paths.empty()) {
    fail("{}: no images with split '{}'", annotation.string(), options.split);
  }
  if (options.split == "test" && !options.allow_any_size) {
    const bool coco = corpus == KarpathyCorpus::coco;
    const std::int64_t expected = coco ? 5000 : 1000;
    if (dataset.n_images() != expected) {
      fail(
          "{}: the {} Karpathy test split has {} images, expected {} (use --allow-any-size "
          "for other sizes)",
          annotation.string(), coco ? "COCO" : "Flickr30k", dataset.n_images(),
          coco ? "5,000" : "1,000");
    }
  }
  return dataset;
}

}  // namespace vlbench::data
