#include "vlbench/text/hf_tokenizer.hpp"

#include <algorithm>

#include "text/hf_added_vocabulary.hpp"
#include "text/hf_components.hpp"
#include "text/json_file.hpp"
#include "text/utf8.hpp"

namespace vlbench {

namespace fs = std::filesystem;
using text::JsonNode;

struct HfTokenizer::Impl {
  std::string file;
  std::unique_ptr<text::hf::Normalizer> normalizer;
  std::unique_ptr<text::hf::PreTokenizer> pre_tokenizer;
  std::unique_ptr<text::hf::TokenModel> model;
  std::unique_ptr<text::hf::PostProcessor> post_processor;
  text::hf::AddedVocabulary added;
};

HfTokenizer::HfTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HfTokenizer::HfTokenizer(HfTokenizer&&) noexcept = default;
HfTokenizer& HfTokenizer::operator=(HfTokenizer&&) noexcept = default;
HfTokenizer::~HfTokenizer() = default;

namespace {

text::hf::AddedToken parse_added_token(const JsonNode& node) {
  node.expect_object();
  text::hf::AddedToken token;
  token.content = node.at("content").as_string();
  token.single_word = node.get_bool("single_word", false);
  token.lstrip = node.get_bool("lstrip", false);
  token.rstrip = node.get_bool("rstrip", false);
  token.special = node.get_bool("special", false);
  token.normalized = node.get_bool("normalized", !token.special);
  // The stored "id" is not used: ids are assigned as `tokenizers` assigns them on loading
  // (the model's id for that content, else the next free one), which agrees with it in any
  // file `tokenizers` wrote itself.
  if (const auto id = node.find("id")) id->as_int();
  return token;
}

}  // namespace

HfTokenizer HfTokenizer::from_file(const fs::path& tokenizer_json) {
  auto impl = std::make_unique<Impl>();
  impl->file = tokenizer_json.string();
  const nlohmann::json doc =
      text::parse_json_text(text::read_text_file(tokenizer_json), tokenizer_json);
  const JsonNode root(doc, impl->file);
  root.expect_object();
  if (const auto version = root.find("version")) {
    if (version->as_string() != "1.0") {
      version->fail("unsupported tokenizer.json version \"{}\" (expected \"1.0\")",
                    version->as_string());
    }
  }
  const auto optional_stage = [&root](std::string_view key) {
    static const nlohmann::json null_value;
    return root.find(key).value_or(JsonNode(null_value, root.file(), std::string(key)));
  };
  impl->normalizer = text::hf::parse_normalizer(optional_stage("normalizer"));
  impl->pre_tokenizer = text::hf::parse_pre_tokenizer(optional_stage("pre_tokenizer"));
  impl->model = text::hf::parse_model(root.at("model"));
  impl->post_processor = text::hf::parse_post_processor(optional_stage("post_processor"));
  if (const auto added = root.find("added_tokens")) {
    for (std::size_t i = 0; i < added->size(); ++i) {
      impl->added.add(parse_added_token((*added)[i]), *impl->model);
    }
  }
  impl->added.finalize(impl->normalizer.get());
  return HfTokenizer(std::move(impl));
}

std::vector<std::int32_t> HfTokenizer::encode(std::string_view text, int max_length,
                                              bool add_special_tokens) const {
  if (max_length < 0) {
    fail("{}: max_length must be 0 (no truncation) or positive, got {}", impl_->file, max_length);
  }
  const std::u32string chars = text::decode_utf8(text, impl_->file + ": text to tokenize");
  const std::vector<text::hf::TextSplit> splits = impl_->added.extract_and_normalize(
      text::hf::aligned_from_utf8(chars), impl_->normalizer.get());
  std::vector<std::int32_t> ids;
  std::vector<text::hf::AlignedText> pieces;
  for (const text::hf::TextSplit& split : splits) {
    if (split.token) {
      ids.push_back(*split.token);
      continue;
    }
    if (split.text.empty()) continue;
    pieces.clear();
    if (impl_->pre_tokenizer) {
      impl_->pre_tokenizer->split(split.text, pieces);
    } else {
      pieces.push_back(split.text);
    }
    for (const text::hf::AlignedText& piece : pieces) {
      if (!piece.empty()) impl_->model->tokenize(piece.utf8(), ids);
    }
  }
  const bool post = add_special_tokens && impl_->post_processor;
  const std::size_t added = post ? impl_->post_processor->added_count() : 0;
  if (max_length > 0) {
    const auto limit = static_cast<std::size_t>(max_length);
    if (limit < added) {
      fail("{}: max_length {} leaves no room for the {} tokens the post-processor adds",
           impl_->file, max_length, added);
    }
    if (ids.size() > limit - added) ids.resize(limit - added);
  }
  if (post) impl_->post_processor->process(ids);
  return ids;
}

std::optional<std::int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  if (const auto id = impl_->added.find(token)) return id;
  return impl_->model->token_to_id(token);
}

std::int64_t HfTokenizer::vocab_size() const {
  return std::max(impl_->model->id_bound(), impl_->added.id_bound());
}

}  // namespace vlbench
