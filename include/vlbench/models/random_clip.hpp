// Random-weight CLIP checkpoints at the real sizes, in the exact Hugging Face layout
// (config.json, model.safetensors, tokenizer and preprocessor files), for tests and for
// speed measurements: speed does not depend on weight values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

// "tiny", "vit-b-32", "vit-b-16", "vit-l-14", "vit-h-14".
std::vector<std::string> random_clip_sizes();

// Writes the checkpoint to `out` (created; files written atomically). The tokenizer files
// (vocab.json, merges.txt) are copied from `tokenizer_dir`. The same (size, seed) gives the
// same bytes on every machine. Unknown size: Error listing the sizes.
void write_random_clip(const std::filesystem::path& out, const std::string& size,
                       std::uint64_t seed, const std::filesystem::path& tokenizer_dir);

}  // namespace vlbench
