// Random-weight SigLIP / SigLIP 2 checkpoints in the published layout (make-model).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

// "tiny" (the fixtures' shapes), "base-224" (siglip-base-patch16-224), "so400m-384"
// (siglip-so400m-patch14-384).
std::vector<std::string> random_siglip_sizes();

// arch "siglip": spiece.model tokenizer, bicubic preprocessing, vocab 32000;
// arch "siglip2": Gemma tokenizer.json, bilinear preprocessing, vocab 256000 (the fixed-
// resolution google/siglip2-* layout). The tokenizer files (spiece.model or tokenizer.json,
// tokenizer_config.json, special_tokens_map.json) are copied from tokenizer_dir.
void write_random_siglip(const std::filesystem::path& out, const std::string& arch,
                         const std::string& size, std::uint64_t seed,
                         const std::filesystem::path& tokenizer_dir);

}  // namespace vlbench
