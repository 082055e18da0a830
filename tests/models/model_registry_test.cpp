// The model interface and registry on the CLIP fixture: the family comes from config.json, the
// interface gives exactly what ClipModel and ClipTokenizer give, the padding diagnostic cannot
// change a causal model, and a model loaded without weights tokenizes but does not encode.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/models/clip.hpp"
#include "vlbench/models/model.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::clip_fixture_dir;

std::vector<std::string> fixture_captions() {
  const nlohmann::json m =
      nlohmann::json::parse(read_file(clip_fixture_dir() / "golden" / "manifest.json"));
  return m["captions"].get<std::vector<std::string>>();
}

class ModelRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(clip_fixture_dir())) GTEST_SKIP() << "no fixture at " << clip_fixture_dir();
  }
};

TEST_F(ModelRegistry, ClipThroughTheInterfaceEqualsClipModel) {
  EXPECT_EQ(detect_model_family(clip_fixture_dir()), "clip");
  const auto model = load_model(clip_fixture_dir());
  EXPECT_EQ(model->family(), "clip");
  EXPECT_EQ(model->name(), "clip-tiny-quickgelu");
  EXPECT_EQ(model->similarity(), Similarity::cosine);
  EXPECT_EQ(model->logit_bias(), 0.0f);
  EXPECT_EQ(model->image_size(), 64);
  EXPECT_EQ(model->preprocess_config().output_height(), 64);

  const auto ids = model->tokenize(fixture_captions());
  EXPECT_EQ(ids, testing::clip_fixture_golden_ids());

  const ClipModel direct = ClipModel::load(clip_fixture_dir());
  EXPECT_EQ(model->parameter_count(), direct.parameter_count());
  std::vector<float> a(ids.size() * 32), b(ids.size() * 32);
  model->encode_texts(ids, a.data());
  direct.encode_texts(ids, b.data());
  EXPECT_EQ(a, b);
  EXPECT_GT(model->image_flops(), 0.0);
  EXPECT_GT(model->text_flops(20), model->text_flops(10));
}

TEST_F(ModelRegistry, LongestPaddingCannotChangeACausalModel) {
  ModelLoadOptions options;
  options.text_padding = TextPadding::longest;
  const auto padded = load_model(clip_fixture_dir(), options);
  const auto model = load_model(clip_fixture_dir());
  const auto captions = fixture_captions();
  const auto padded_ids = padded->tokenize(captions);
  const auto ids = model->tokenize(captions);
  std::size_t longest = 0;
  for (const auto& c : ids) longest = std::max(longest, c.size());
  for (const auto& c : padded_ids) EXPECT_EQ(c.size(), longest);
  std::vector<float> a(ids.size() * 32), b(ids.size() * 32);
  padded->encode_texts(padded_ids, a.data());
  model->encode_texts(ids, b.data());
  EXPECT_LE(testing::max_abs_diff(a, b), 1e-5);
}

TEST_F(ModelRegistry, WithoutWeightsTokenizesButDoesNotEncode) {
  ModelLoadOptions options;
  options.weights = false;
  const auto model = load_model(clip_fixture_dir(), options);
  EXPECT_EQ(model->tokenize(fixture_captions()), testing::clip_fixture_golden_ids());
  EXPECT_EQ(model->embed_dim(), 32);
  std::vector<float> out(32);
  testing::expect_error(
      [&] {
        model->encode_texts({{49406, 49407}}, out.data());
      },
      {"clip-tiny-quickgelu", "without its weights"});
}

TEST_F(ModelRegistry, InvalidUtf8NamesTheCaption) {
  const auto model = load_model(clip_fixture_dir());
  testing::expect_error(
      [&] {
        model->tokenize({"fine", "bad \xff byte"});
      },
      {"caption 1", "invalid UTF-8"});
}

TEST(ModelRegistryNames, FamiliesAndRandomArchs) {
  EXPECT_EQ(model_family_names(),
            (std::vector<std::string>{"clip", "siglip", "colpali", "jina-clip"}));
  std::vector<std::string> archs;
  for (const auto& arch : random_model_archs()) archs.push_back(arch.arch);
  EXPECT_EQ(archs,
            (std::vector<std::string>{"clip", "siglip", "siglip2", "colpali", "jina-clip"}));
  EXPECT_EQ(parse_text_padding("longest"), TextPadding::longest);
  testing::expect_error([] { parse_text_padding("max"); }, {"unknown text padding 'max'"});
  testing::TempDir dir;
  testing::expect_error([&] { write_random_model(dir / "m", "blip", "tiny", 0); },
                        {"unknown --arch 'blip'", "clip, siglip, siglip2"});
}

}  // namespace
}  // namespace vlbench
