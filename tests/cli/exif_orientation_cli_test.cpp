// --exif-orientation through every command that reads images (preprocess, embed, encode, run):
// off by default (images stay as stored), on it rotates each image by its EXIF Orientation
// first, and the setting is recorded in encode's manifest and run's results documents.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/models/model.hpp>
#include <vlbench/vision/image.hpp>

#include "test_util.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_cli;
using testing::TempDir;

std::string q(const fs::path& path) {
  return testing::shell_quote(path);
}

class ExifOrientationCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string output;
    ASSERT_EQ(run_cli("make-model --arch clip --size tiny --out " + q(model()), &output), 0)
        << output;
    fs::create_directories(*dir_ / "images");
    // Stored sideways with Orientation 6, and the same kind of photo tagged 1 (upright).
    fs::copy_file(testing::test_data("images/jpeg/orient6.jpg"), *dir_ / "images/six.jpg");
    fs::copy_file(testing::test_data("images/jpeg/orient1.jpg"), *dir_ / "images/one.jpg");
    testing::write_text(*dir_ / "images.txt", (*dir_ / "images/six.jpg").string() + "\n" +
                                                  (*dir_ / "images/one.jpg").string() + "\n");
    testing::write_text(*dir_ / "data.jsonl",
                        "{\"image\": \"images/six.jpg\", \"captions\": [\"a photo\"]}\n"
                        "{\"image\": \"images/one.jpg\", \"captions\": [\"another photo\"]}\n");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path model() { return *dir_ / "clip-tiny"; }

  // The library's pixels for the two images: decode_image_native (with or without the
  // orientation) + preprocess with the model's config.
  static std::vector<float> library_pixels(bool exif) {
    const auto loaded = load_model(model());
    const PreprocessConfig& config = loaded->preprocess_config();
    const std::size_t per_image = 3 * static_cast<std::size_t>(config.output_height()) *
                                  static_cast<std::size_t>(config.output_width());
    std::vector<float> pixels(2 * per_image);
    DecodeOptions decode;
    decode.exif_orientation = exif;
    preprocess(decode_image_native(*dir_ / "images/six.jpg", decode), config, pixels.data());
    preprocess(decode_image_native(*dir_ / "images/one.jpg", decode), config,
               pixels.data() + per_image);
    return pixels;
  }

  static TempDir* dir_;
};

TempDir* ExifOrientationCli::dir_ = nullptr;

std::vector<float> row(const std::vector<float>& m, std::size_t r, std::size_t n_rows) {
  const std::size_t d = m.size() / n_rows;
  return {m.begin() + static_cast<std::ptrdiff_t>(r * d),
          m.begin() + static_cast<std::ptrdiff_t>((r + 1) * d)};
}

TEST_F(ExifOrientationCli, PreprocessAndEmbedRotateOnlyWhenAsked) {
  std::string output;
  for (const bool exif : {false, true}) {
    SCOPED_TRACE(exif);
    const std::string flag = exif ? " --exif-orientation" : "";
    const fs::path pix = *dir_ / (std::string("pixels") + (exif ? "_exif" : "") + ".npy");
    ASSERT_EQ(run_cli("preprocess --model " + q(model()) + " --image-list " +
                          q(*dir_ / "images.txt") + flag + " --out " + q(pix),
                      &output),
              0)
        << output;
    EXPECT_EQ(testing::read_npy_f32(pix), library_pixels(exif));
    const fs::path emb = *dir_ / (std::string("embed") + (exif ? "_exif" : "") + ".npy");
    ASSERT_EQ(run_cli("embed --model " + q(model()) + " --image-list " + q(*dir_ / "images.txt") +
                          flag + " --out " + q(emb),
                      &output),
              0)
        << output;
  }
  // Orientation 6 turns the pixels; orientation 1 leaves them.
  const auto plain = testing::read_npy_f32(*dir_ / "pixels.npy");
  const auto rotated = testing::read_npy_f32(*dir_ / "pixels_exif.npy");
  EXPECT_GT(testing::max_abs_diff(row(plain, 0, 2), row(rotated, 0, 2)), 0.1);
  EXPECT_EQ(row(plain, 1, 2), row(rotated, 1, 2));
  const auto e_plain = testing::read_npy_f32(*dir_ / "embed.npy");
  const auto e_rotated = testing::read_npy_f32(*dir_ / "embed_exif.npy");
  EXPECT_GT(testing::max_abs_diff(row(e_plain, 0, 2), row(e_rotated, 0, 2)), 1e-3);
  EXPECT_EQ(row(e_plain, 1, 2), row(e_rotated, 1, 2));
}

TEST_F(ExifOrientationCli, EncodeAndRunRecordTheSetting) {
  const std::string dataset = " --dataset jsonl:" + q(*dir_ / "data.jsonl");
  std::string output;
  for (const bool exif : {false, true}) {
    SCOPED_TRACE(exif);
    const std::string flag = exif ? " --exif-orientation" : "";
    const fs::path enc = *dir_ / (std::string("enc") + (exif ? "_exif" : ""));
    ASSERT_EQ(
        run_cli("encode --model " + q(model()) + dataset + flag + " --out " + q(enc), &output), 0)
        << output;
    const json manifest = json::parse(read_file(enc / "manifest.json"));
    EXPECT_EQ(manifest["images_read"]["exif_orientation"], exif);
    EXPECT_EQ(manifest["images_read"]["max_image_pixels"], kPillowMaxImagePixels);
    EXPECT_EQ(manifest["images_read"]["resize_in_file_mode"], false);

    const fs::path run = *dir_ / (std::string("run") + (exif ? "_exif" : ""));
    ASSERT_EQ(run_cli("run --model " + q(model()) + dataset + flag +
                          " --max-image-pixels 1000000 --bootstrap 20 --out " + q(run),
                      &output),
              0)
        << output;
    const json doc = json::parse(read_file(run / "clip-tiny" / "jsonl-all.json"));
    EXPECT_EQ(doc["model"]["images_read"]["exif_orientation"], exif);
    EXPECT_EQ(doc["model"]["images_read"]["max_image_pixels"], 1000000);
  }
  // encode's image rows: the sideways photo changes with the flag, the upright one does not.
  const auto plain = testing::read_npy_f32(*dir_ / "enc/IMAGES.npy");
  const auto rotated = testing::read_npy_f32(*dir_ / "enc_exif/IMAGES.npy");
  EXPECT_GT(testing::max_abs_diff(row(plain, 0, 2), row(rotated, 0, 2)), 1e-3);
  EXPECT_EQ(row(plain, 1, 2), row(rotated, 1, 2));
}

}  // namespace
}  // namespace vlbench
