// Every JSON config a model folder holds: config.json through the registry's family
// detection, the CLIP, SigLIP and Jina-CLIP config readers (tower bounds included),
// preprocessor_config.json, and open_clip_config.json (model_cfg and preprocess_cfg). The
// first byte picks the file (bit 0: preprocessor; else bit 1: open_clip), the rest is its text.
#include "fuzz_util.hpp"

#include "models/clip/open_clip.hpp"
#include "models/jina/jina_config.hpp"
#include "models/siglip/siglip_model.hpp"

#include <vlbench/models/clip.hpp>
#include <vlbench/models/model.hpp>
#include <vlbench/vision/image.hpp>

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  if (size == 0) return 0;
  const auto dir = fuzz::scratch() / "model";
  const bool preprocessor = data[0] & 1;
  const bool open_clip = !preprocessor && (data[0] & 2);
  std::error_code ec;
  std::filesystem::remove(dir / "config.json", ec);
  std::filesystem::remove(dir / kOpenClipConfigName, ec);
  fuzz::write_file(dir / (preprocessor ? "preprocessor_config.json"
                          : open_clip  ? kOpenClipConfigName
                                       : "config.json"),
                   data + 1, size - 1);
  if (open_clip) {
    fuzz::expect_clean([&] { detect_model_family(dir); });
    fuzz::expect_clean([&] {
      const ClipConfig config = read_clip_config(dir);
      read_open_clip_preprocess_config(dir, config.image_size).output_height();
    });
    return 0;
  }
  if (preprocessor) {
    fuzz::expect_clean([&] {
      const PreprocessConfig config = read_preprocess_config(dir);
      config.output_height();
      config.output_width();
    });
    return 0;
  }
  fuzz::expect_clean([&] { detect_model_family(dir); });
  fuzz::expect_clean([&] { read_clip_config(dir); });
  const auto json = nlohmann::json::parse(data + 1, data + size, nullptr, false);
  if (json.is_object()) {
    fuzz::expect_clean([&] { parse_siglip_config(json, (dir / "config.json").string()); });
    fuzz::expect_clean([&] { parse_jina_clip_config(json, (dir / "config.json").string()); });
  }
  return 0;
}
