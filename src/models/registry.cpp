// The model registry: one entry per family, tried in order.
#include <algorithm>

#include "models/config_reader.hpp"
#include "models/family.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

const std::vector<const ModelFamily*>& families() {
  static const std::vector<const ModelFamily*> table = {&clip_family(), &siglip_family()};
  return table;
}

std::string declared_list() {
  std::string list;
  for (const ModelFamily* family : families()) {
    list += (list.empty() ? "" : "; ") + family->name + ": " + family->declares;
  }
  return list;
}

CheckpointInfo read_info(const std::filesystem::path& dir) {
  CheckpointInfo info;
  info.dir = dir;
  info.config_path = dir / "config.json";
  if (!std::filesystem::is_directory(dir)) {
    fail("{}: not a checkpoint directory (expected a folder with config.json and weights)",
         dir.string());
  }
  if (!std::filesystem::exists(info.config_path)) {
    fail("{}: no config.json, so the model family is unknown (supported: {})", dir.string(),
         declared_list());
  }
  info.config = ConfigReader::read_object(info.config_path, "the model's config file");
  const ConfigReader reader{info.config_path.string()};
  info.model_type = reader.string(info.config, "model_type", "model_type", "");
  return info;
}

const ModelFamily& family_of(const CheckpointInfo& info) {
  for (const ModelFamily* family : families()) {
    if (family->matches(info)) return *family;
  }
  fail("{}: field 'model_type': unsupported model type '{}' (supported: {})",
       info.config_path.string(), info.model_type, declared_list());
}

}  // namespace

double encoder_layer_flops(double d, double intermediate, double tokens) {
  const double linear_params = 4 * d * d + 2 * d * intermediate;
  return 2 * linear_params * tokens + 2 * 2 * tokens * tokens * d;
}

std::string checkpoint_name(const CheckpointInfo& info) {
  const auto it = info.config.find("_name_or_path");
  if (it != info.config.end() && it->is_string() && !it->get<std::string>().empty()) {
    return it->get<std::string>();
  }
  const std::filesystem::path clean = info.dir.lexically_normal();
  return (clean.has_filename() ? clean.filename() : clean.parent_path().filename()).string();
}

std::string similarity_name(Similarity similarity) {
  return similarity == Similarity::cosine ? "cosine" : "sigmoid";
}

std::string text_padding_name(TextPadding padding) {
  return padding == TextPadding::model ? "model" : "longest";
}

TextPadding parse_text_padding(const std::string& name) {
  if (name == "model") return TextPadding::model;
  if (name == "longest") return TextPadding::longest;
  fail("unknown text padding '{}' (expected model or longest)", name);
}

std::vector<std::string> model_family_names() {
  std::vector<std::string> names;
  for (const ModelFamily* family : families()) names.push_back(family->name);
  return names;
}

std::string detect_model_family(const std::filesystem::path& dir) {
  return family_of(read_info(dir)).name;
}

std::unique_ptr<EmbeddingModel> load_model(const std::filesystem::path& dir,
                                           const ModelLoadOptions& options) {
  const CheckpointInfo info = read_info(dir);
  return family_of(info).load(info, options);
}

std::vector<RandomModelArch> random_model_archs() {
  std::vector<RandomModelArch> archs;
  for (const ModelFamily* family : families()) {
    for (RandomModelArch& arch : family->random_archs()) archs.push_back(std::move(arch));
  }
  return archs;
}

namespace {

bool holds_config_json(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / "config.json");
}

}  // namespace

void write_random_model(const std::filesystem::path& out, const std::string& arch,
                        const std::string& size, std::uint64_t seed,
                        const std::filesystem::path& tokenizer_dir) {
  std::string known;
  for (const ModelFamily* family : families()) {
    for (const RandomModelArch& a : family->random_archs()) {
      if (a.arch == arch) {
        if (std::find(a.sizes.begin(), a.sizes.end(), size) == a.sizes.end()) {
          std::string sizes;
          for (const std::string& s : a.sizes) sizes += (sizes.empty() ? "" : ", ") + s;
          fail("unknown model size '{}' for --arch {} (expected one of {})", size, arch, sizes);
        }
        const std::filesystem::path tokenizers =
            tokenizer_dir.empty() ? std::filesystem::path(VLBENCH_DATA_DIR) / "tokenizers" / arch
                                  : tokenizer_dir;
        // Written whole or not at all: an interrupted make-model leaves no half checkpoint.
        AtomicDirectory folder(out, "a checkpoint", holds_config_json);
        family->write_random(folder.temp_path(), arch, size, seed, tokenizers);
        folder.commit();
        return;
      }
      known += (known.empty() ? "" : ", ") + a.arch;
    }
  }
  fail("make-model: unknown --arch '{}' (expected one of {})", arch, known);
}

}  // namespace vlbench
