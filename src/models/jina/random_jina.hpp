// Random-weight jina-clip-v1 checkpoints in the published layout (make-model).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

// "tiny" (jina-clip-tiny's shapes), "v1" (jina-clip-v1: EVA02 ViT-B/16 at 224 with SwiGLU
// 2048, JinaBERT base: 12 × 768, vocabulary 30528).
std::vector<std::string> random_jina_sizes();

// model.safetensors, config.json (JinaCLIPConfig with every text dimension in
// text_config.hf_model_config_kwargs), preprocessor_config.json (JinaCLIPImageProcessor) and
// the tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json,
// vocab.txt) copied from tokenizer_dir.
void write_random_jina(const std::filesystem::path& out, const std::string& arch,
                       const std::string& size, std::uint64_t seed,
                       const std::filesystem::path& tokenizer_dir);

}  // namespace vlbench
