// tokenizer.json "post_processor" for a single sequence: TemplateProcessing, BertProcessing,
// RobertaProcessing (the latter two only add their cls/sep ids; their offset options do not
// change ids).
#include <limits>
#include <unordered_map>

#include "text/hf_components.hpp"

namespace vlbench::text::hf {
namespace {

// The single-sequence template flattened: -1 marks where the sequence goes.
class TemplatePostProcessor final : public PostProcessor {
 public:
  explicit TemplatePostProcessor(std::vector<std::int32_t> layout) : layout_(std::move(layout)) {}

  std::size_t added_count() const override { return layout_.size() - 1; }
  void process(std::vector<std::int32_t>& ids) const override {
    std::vector<std::int32_t> out;
    out.reserve(ids.size() + layout_.size());
    for (std::int32_t entry : layout_) {
      if (entry < 0) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.push_back(entry);
      }
    }
    ids = std::move(out);
  }

 private:
  std::vector<std::int32_t> layout_;
};

std::int32_t parse_id(const JsonNode& node) {
  const std::int64_t id = node.as_int();
  if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) {
    node.fail("expected a non-negative 32-bit integer id, got {}", id);
  }
  return static_cast<std::int32_t>(id);
}

std::unique_ptr<PostProcessor> parse_template(const JsonNode& node) {
  std::unordered_map<std::string, std::vector<std::int32_t>> special_ids;
  if (const auto specials = node.find("special_tokens")) {
    specials->expect_object();
    for (const auto& [name, value] : specials->value().items()) {
      const JsonNode entry(value, specials->file(), specials->path() + "." + name);
      const JsonNode ids = entry.at("ids");
      std::vector<std::int32_t>& out = special_ids[name];
      for (std::size_t i = 0; i < ids.size(); ++i) out.push_back(parse_id(ids[i]));
    }
  }
  const JsonNode single = node.at("single");
  std::vector<std::int32_t> layout;
  bool has_sequence = false;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const JsonNode piece = single[i];
    piece.expect_object();
    if (const auto sequence = piece.find("Sequence")) {
      const JsonNode id = sequence->at("id");
      if (id.as_string() != "A") id.fail("a single-sequence template can only use \"A\"");
      if (has_sequence) piece.fail("sequence \"A\" appears twice");
      has_sequence = true;
      layout.push_back(-1);
    } else if (const auto special = piece.find("SpecialToken")) {
      const JsonNode id = special->at("id");
      const auto it = special_ids.find(id.as_string());
      if (it == special_ids.end()) {
        id.fail("\"{}\" is not in post_processor.special_tokens", id.as_string());
      }
      layout.insert(layout.end(), it->second.begin(), it->second.end());
    } else {
      piece.fail("expected {{\"Sequence\": ...}} or {{\"SpecialToken\": ...}}, got {}",
                 json_excerpt(piece.value()));
    }
  }
  if (!has_sequence) single.fail("the template has no {{\"Sequence\": {{\"id\": \"A\"}}}}");
  return std::make_unique<TemplatePostProcessor>(std::move(layout));
}

// BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101], "sep": ["[SEP]", 102] ->
// cls A sep.
std::unique_ptr<PostProcessor> parse_cls_sep(const JsonNode& node) {
  const auto token_id = [](const JsonNode& pair) {
    if (pair.size() != 2) pair.fail("expected [\"TOKEN\", id]");
    pair[0].as_string();
    return parse_id(pair[1]);
  };
  return std::make_unique<TemplatePostProcessor>(
      std::vector<std::int32_t>{token_id(node.at("cls")), -1, token_id(node.at("sep"))});
}

}  // namespace

std::unique_ptr<PostProcessor> parse_post_processor(const JsonNode& node) {
  if (node.is_null()) return nullptr;
  node.expect_object();
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.as_string();
  if (type == "TemplateProcessing") return parse_template(node);
  if (type == "BertProcessing" || type == "RobertaProcessing") return parse_cls_sep(node);
  type_node.fail(
      "unsupported '{}' (supported: TemplateProcessing, BertProcessing, "
      "RobertaProcessing)",
      type);
}

}  // namespace vlbench::text::hf
