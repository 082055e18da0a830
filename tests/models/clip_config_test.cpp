// read_clip_config: transformers' defaults, the fixture's values, and the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

std::string config_error(const std::string& json) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", json);
  try {
    read_clip_config(dir.path());
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ClipConfig, MissingKeysTakeTransformersDefaults) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", R"({"model_type": "clip"})");
  const ClipConfig config = read_clip_config(dir.path());
  EXPECT_EQ(config.projection_dim, 512);
  EXPECT_EQ(config.text.hidden_size, 512);
  EXPECT_EQ(config.text.intermediate_size, 2048);
  EXPECT_EQ(config.text.num_attention_heads, 8);
  EXPECT_EQ(config.text.num_hidden_layers, 12);
  EXPECT_EQ(config.text.hidden_act, "quick_gelu");
  EXPECT_DOUBLE_EQ(config.text.layer_norm_eps, 1e-5);
  EXPECT_EQ(config.vocab_size, 49408);
  EXPECT_EQ(config.max_position_embeddings, 77);
  EXPECT_EQ(config.eos_token_id, 49407);
  EXPECT_EQ(config.vision.hidden_size, 768);
  EXPECT_EQ(config.vision.intermediate_size, 3072);
  EXPECT_EQ(config.vision.num_attention_heads, 12);
  EXPECT_EQ(config.vision.num_hidden_layers, 12);
  EXPECT_EQ(config.vision.hidden_act, "quick_gelu");
  EXPECT_EQ(config.image_size, 224);
  EXPECT_EQ(config.patch_size, 32);
  EXPECT_EQ(config.num_channels, 3);
}

TEST(ClipConfig, ReadsPresentKeys) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", R"({
    "model_type": "clip", "projection_dim": 768,
    "text_config": {"hidden_size": 768, "num_attention_heads": 12, "eos_token_id": 2,
                    "hidden_act": "gelu", "layer_norm_eps": 1e-6},
    "vision_config": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                      "patch_size": 14, "image_size": 336, "hidden_act": "gelu_pytorch_tanh"}})");
  const ClipConfig config = read_clip_config(dir.path());
  EXPECT_EQ(config.projection_dim, 768);
  EXPECT_EQ(config.text.hidden_size, 768);
  EXPECT_EQ(config.text.num_attention_heads, 12);
  EXPECT_EQ(config.text.intermediate_size, 2048);  // default kept
  EXPECT_EQ(config.eos_token_id, 2);
  EXPECT_EQ(config.text.hidden_act, "gelu");
  EXPECT_DOUBLE_EQ(config.text.layer_norm_eps, 1e-6);
  EXPECT_EQ(config.vision.hidden_size, 1024);
  EXPECT_EQ(config.vision.num_hidden_layers, 24);
  EXPECT_EQ(config.patch_size, 14);
  EXPECT_EQ(config.image_size, 336);
  EXPECT_EQ(config.vision.hidden_act, "gelu_pytorch_tanh");
}

TEST(ClipConfig, ConfigDictOverridesConfigAsTransformersDoes) {
  // openai/clip-vit-* configs carry both; transformers rebuilds each tower from the *_dict
  // and its defaults, so text_config's hidden_size 768 gives way to the default 512.
  testing::TempDir dir;
  testing::write_text(dir / "config.json", R"({
    "model_type": "clip",
    "text_config": {"hidden_size": 768, "eos_token_id": 49407},
    "text_config_dict": {"num_hidden_layers": 6, "eos_token_id": 2},
    "vision_config": {"patch_size": 16},
    "vision_config_dict": null})");
  const ClipConfig config = read_clip_config(dir.path());
  EXPECT_EQ(config.text.hidden_size, 512);
  EXPECT_EQ(config.text.num_hidden_layers, 6);
  EXPECT_EQ(config.eos_token_id, 2);
  EXPECT_EQ(config.patch_size, 16);  // a null *_dict is ignored
  const std::string message = config_error(R"({"text_config_dict": {"vocab_size": 0}})");
  EXPECT_NE(message.find("'text_config_dict.vocab_size'"), std::string::npos) << message;
}

TEST(ClipConfig, ReadsTheTinyFixture) {
  const std::filesystem::path dir =
      std::filesystem::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no fixture at " << dir;
  const ClipConfig config = read_clip_config(dir);
  EXPECT_EQ(config.projection_dim, 32);
  EXPECT_EQ(config.text.hidden_size, 64);
  EXPECT_EQ(config.text.intermediate_size, 256);
  EXPECT_EQ(config.text.num_hidden_layers, 2);
  EXPECT_EQ(config.vision.hidden_size, 128);
  EXPECT_EQ(config.vision.intermediate_size, 512);
  EXPECT_EQ(config.image_size, 64);
  EXPECT_EQ(config.patch_size, 16);
}

TEST(ClipConfig, UnsupportedModelTypeNamesItAndTheSupportedOnes) {
  const std::string message = config_error(R"({"model_type": "siglip"})");
  EXPECT_NE(message.find("config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("'siglip'"), std::string::npos) << message;
  EXPECT_NE(message.find("supported: clip"), std::string::npos) << message;
}

TEST(ClipConfig, BadFieldsNameTheFileAndTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"({"text_config": {"hidden_size": "big"}})", "'text_config.hidden_size'"},
      {R"({"vision_config": {"num_hidden_layers": -2}})", "'vision_config.num_hidden_layers'"},
      {R"({"projection_dim": 1.5})", "'projection_dim'"},
      {R"({"text_config": {"eos_token_id": "x"}})", "'text_config.eos_token_id'"},
      {R"({"vision_config": {"hidden_act": "relu"}})", "'vision_config.hidden_act'"},
      {R"({"text_config": {"layer_norm_eps": 0}})", "'text_config.layer_norm_eps'"},
      {R"({"text_config": [1, 2]})", "'text_config'"},
      {R"({"vision_config": {"hidden_size": 100, "num_attention_heads": 3}})",
       "'vision_config.num_attention_heads'"},
      {R"({"vision_config": {"image_size": 100, "patch_size": 32}})", "'vision_config.patch_size'"},
  };
  for (const Case& c : cases) {
    const std::string message = config_error(c.json);
    EXPECT_NE(message.find("config.json"), std::string::npos) << message;
    EXPECT_NE(message.find(c.field), std::string::npos) << c.json << " -> " << message;
  }
}

TEST(ClipConfig, MissingOrBrokenFileNamesIt) {
  testing::TempDir dir;
  try {
    read_clip_config(dir.path());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "config.json").string()), std::string::npos);
  }
  const std::string message = config_error("{\"model_type\": ");
  EXPECT_NE(message.find("config.json: not valid JSON"), std::string::npos) << message;
  const std::string huge = config_error("{\"projection_dim\": 1e400}");  // out_of_range
  EXPECT_NE(huge.find("config.json: not valid JSON ([json.exception.out_of_range.406] number "
                      "overflow"),
            std::string::npos)
      << huge;
}

}  // namespace
}  // namespace vlbench
