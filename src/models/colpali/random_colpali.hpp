// make-model --arch colpali: random weights in the published ColPali layout, for tests and
// real-size speed and memory. Internal to the models module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

// The base's folder name, the one the adapter's base_model_name_or_path
// ("vidore/colpaligemma-3b-pt-448-base") names, so the registry finds it next to the adapter.
inline constexpr const char* kColPaliBaseFolder = "colpaligemma-3b-pt-448-base";

// "tiny" (the shapes of ../shared/fixtures/colpali-tiny, float32) and "v1.3" (PaliGemma-3B-448
// with the colpali-v1.3 adapter's r 32 / alpha 32: 2.9 B parameters, bf16, 2 GiB shards).
std::vector<std::string> random_colpali_sizes();

// The adapter's folder under make-model's output: "colpali-tiny", "colpali-v1.3".
std::string random_colpali_adapter_folder(const std::string& size);

// Writes OUT/colpaligemma-3b-pt-448-base (config.json, weights, processor and tokenizer files)
// and OUT/<adapter folder> (adapter_config.json, adapter_model.safetensors, processor and
// tokenizer files). The Gemma tokenizer files (tokenizer.model, tokenizer.json,
// tokenizer_config.json, special_tokens_map.json) are copied from tokenizer_dir. The same
// (size, seed) gives the same bytes.
void write_random_colpali(const std::filesystem::path& out, const std::string& size,
                          std::uint64_t seed, const std::filesystem::path& tokenizer_dir);

}  // namespace vlbench
