// tokenizer.json "model": one implementation per "type", each in its own file.
#include "text/hf_components.hpp"

namespace vlbench::text::hf {

std::unique_ptr<TokenModel> parse_model(const JsonNode& node) {
  node.expect_object();
  // Files from old `tokenizers` versions may leave out the type of a BPE model.
  if (!node.has("type")) {
    if (node.has("merges")) return make_bpe_model(node);
    node.fail("missing \"type\"");
  }
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.as_string();
  if (type == "BPE") return make_bpe_model(node);
  type_node.fail("unsupported '{}' (supported: BPE)", type);
}

}  // namespace vlbench::text::hf
