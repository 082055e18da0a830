// The model registry: one entry per family, tried in order.
#include <algorithm>

#include "models/config_reader.hpp"
#include "models/family.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/hub/cache.hpp"

namespace vlbench {
namespace {

const std::vector<const ModelFamily*>& families() {
  static const std::vector<const ModelFamily*> table = {&clip_family(), &siglip_family(),
                                                         &colpali_family(), &jina_family()};
  return table;
}

std::string declared_list() {
  std::string list;
  for (const ModelFamily* family : families()) {
    list += (list.empty() ? "" : "; ") + family->name + ": " + family->declares;
  }
  return list;
}

namespace fs = std::filesystem;

// The base checkpoint of the PEFT adapter in `adapter` (its adapter_config.json parsed):
// `base` when given, else base_model_name_or_path as a path (relative to the adapter's parent
// folder when relative) or the folder of its last component next to the adapter.
fs::path find_adapter_base(const fs::path& adapter, const nlohmann::json& config,
                           const fs::path& base) {
  const fs::path config_path = adapter / "adapter_config.json";
  if (!base.empty()) {
    if (!fs::is_directory(base)) fail("--base {}: not a checkpoint directory", base.string());
    return base;
  }
  const ConfigReader reader{config_path.string()};
  const std::string name =
      reader.string(config, "base_model_name_or_path", "base_model_name_or_path", "");
  if (name.empty()) {
    fail("{}: field 'base_model_name_or_path' is missing or empty, and no --base was given",
         config_path.string());
  }
  const fs::path parent = fs::absolute(adapter).lexically_normal().parent_path();
  std::vector<fs::path> candidates;
  const fs::path named(name);
  candidates.push_back(named.is_absolute() ? named : parent / named);
  if (named.has_filename()) candidates.push_back(parent / named.filename());
  std::string searched;
  for (const fs::path& candidate : candidates) {
    if (fs::exists(candidate / "config.json")) return candidate;
    searched += (searched.empty() ? "" : ", ") + candidate.string();
  }
  // A Hub id ("vidore/colpaligemma-3b-pt-448-base", as published adapters name their base):
  // its snapshot in the local Hugging Face cache.
  std::string in_cache;
  if (looks_like_hub_reference(name)) {
    try {
      return resolve_model_reference(name, "base_model_name_or_path").dir;
    } catch (const Error& e) {
      in_cache = std::string("; ") + e.what();
    }
  }
  fail(
      "{}: the base model '{}' was not found (searched {}; give --base DIR, the folder of "
      "the base checkpoint{})",
      config_path.string(), name, searched, in_cache);
}

CheckpointInfo read_info(const std::filesystem::path& given, const fs::path& base) {
  CheckpointInfo info;
  fs::path dir = given;
  if (fs::is_directory(given) && !fs::exists(given / "config.json") &&
      fs::exists(given / "adapter_config.json")) {
    info.adapter_dir = given;
    info.adapter_config =
        ConfigReader::read_object(given / "adapter_config.json", "the PEFT adapter's config");
    dir = find_adapter_base(given, info.adapter_config, base);
  } else if (!base.empty()) {
    fail("--base {}: {} is not a PEFT adapter folder (no adapter_config.json), so it has no base",
         base.string(), given.string());
  }
  info.dir = dir;
  if (!std::filesystem::is_directory(dir)) {
    fail("{}: not a checkpoint directory (expected a folder with config.json and weights)",
         dir.string());
  }
  // The model's config: config.json (Hugging Face), else the file an open_clip folder has.
  std::error_code ec;
  for (const char* name : {"config.json", "open_clip_config.json"}) {
    if (fs::exists(dir / name, ec)) {
      info.config_path = dir / name;
      break;
    }
  }
  if (info.config_path.empty()) {
    fail(
        "{}: no config.json (nor an open_clip_config.json, nor a PEFT adapter's "
        "adapter_config.json), so the model family is unknown (supported: {})",
        dir.string(), declared_list());
  }
  info.config = ConfigReader::read_object(info.config_path, "the model's config file");
  const ConfigReader reader{info.config_path.string()};
  info.model_type = reader.string(info.config, "model_type", "model_type", "");
  return info;
}

const ModelFamily& family_of(const CheckpointInfo& info) {
  for (const ModelFamily* family : families()) {
    if (!family->matches(info)) continue;
    if (!info.adapter_dir.empty() && !family->loads_adapters) {
      std::string takers;
      for (const ModelFamily* f : families()) {
        if (f->loads_adapters) takers += (takers.empty() ? "" : ", ") + f->name;
      }
      fail("{}: a PEFT adapter on a {} base ({}) is not supported (adapters load on: {})",
           info.adapter_dir.string(), family->name, info.dir.string(), takers);
    }
    return *family;
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
  if (!info.adapter_dir.empty()) {
    // A snapshot of the Hugging Face cache is named by its repository, not its commit.
    if (std::string id = hub_repo_id_of_snapshot(info.adapter_dir); !id.empty()) return id;
    const fs::path clean = fs::absolute(info.adapter_dir).lexically_normal();
    return (clean.has_filename() ? clean.filename() : clean.parent_path().filename()).string();
  }
  const auto it = info.config.find("_name_or_path");
  if (it != info.config.end() && it->is_string() && !it->get<std::string>().empty()) {
    return it->get<std::string>();
  }
  if (std::string id = hub_repo_id_of_snapshot(info.dir); !id.empty()) return id;
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

std::string detect_model_family(const std::filesystem::path& dir,
                                const std::filesystem::path& base) {
  return family_of(read_info(dir, base)).name;
}

std::unique_ptr<EmbeddingModel> load_model(const std::filesystem::path& dir,
                                           const ModelLoadOptions& options) {
  const CheckpointInfo info = read_info(dir, options.base);
  const ModelFamily& family = family_of(info);
  if (options.max_text_tokens != 0) {
    // Checked on the config alone, before any weight is read.
    ModelLoadOptions light = options;
    light.weights = false;
    const std::unique_ptr<EmbeddingModel> probe = family.load(info, light);
    if (probe->max_text_tokens() == 0) {
      fail("{}: --max-text-tokens {}: a {} model's caption length is fixed by its weights ({})",
           dir.string(), options.max_text_tokens, family.name, probe->text_rules());
    }
  }
  return family.load(info, options);
}

std::vector<RandomModelArch> random_model_archs() {
  std::vector<RandomModelArch> archs;
  for (const ModelFamily* family : families()) {
    for (RandomModelArch& arch : family->random_archs()) archs.push_back(std::move(arch));
  }
  return archs;
}

namespace {

// A checkpoint make-model may replace: a config.json, or (base + adapter pairs) a folder of
// checkpoint folders.
bool holds_config_json(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "config.json")) return true;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (std::filesystem::exists(entry.path() / "config.json") ||
        std::filesystem::exists(entry.path() / "adapter_config.json")) {
      return true;
    }
  }
  return false;
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
