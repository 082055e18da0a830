// tokenizer.json "model": one implementation per "type", each in its own file.
#include <algorithm>
#include <limits>

#include "text/hf_components.hpp"

namespace vlbench::text::hf {

ModelVocab ModelVocab::parse(const JsonNode& node) {
  node.expect_object();
  ModelVocab vocab;
  vocab.ids.reserve(node.value().size());
  for (const auto& [token, id] : node.value().items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      node.fail("entry \"{}\": expected a non-negative 32-bit integer id, got {}", token,
                json_excerpt(id));
    }
    const auto value = id.get<std::int32_t>();
    vocab.ids[token] = value;
    vocab.id_bound = std::max<std::int64_t>(vocab.id_bound, std::int64_t{value} + 1);
  }
  return vocab;
}

std::unique_ptr<TokenModel> parse_model(const JsonNode& node) {
  node.expect_object();
  // Files from old `tokenizers` versions may leave out the type of a BPE model.
  // `tokenizers` then tries each model's fields in turn.
  if (!node.has("type")) {
    if (node.has("merges")) return make_bpe_model(node);
    if (node.has("max_input_chars_per_word")) return make_wordpiece_model(node);
    node.fail("missing \"type\"");
  }
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.as_string();
  if (type == "BPE") return make_bpe_model(node);
  if (type == "WordPiece") return make_wordpiece_model(node);
  type_node.fail("unsupported '{}' (supported: BPE, WordPiece)", type);
}

}  // namespace vlbench::text::hf
