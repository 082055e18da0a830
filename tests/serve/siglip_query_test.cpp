// Text and image queries through the SigLIP and SigLIP 2 fixtures (../shared/fixtures/siglip-tiny,
// siglip2-tiny): the server goes through the model interface, so a caption or an image file gives
// the results of searching with the float64 reference's golden embedding of it.
#include "serve/serve_test_util.hpp"
#include "test_util.hpp"

#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace vlbench::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::int64_t kN = 64;

class SiglipQuery : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::path(VLBENCH_SHARED_FIXTURES) / GetParam();
    if (!fs::exists(dir_)) GTEST_SKIP() << "no fixture at " << dir_;
    std::ifstream in(dir_ / "golden" / "manifest.json");
    manifest_ = json::parse(in);
    const auto n_captions = static_cast<std::int64_t>(manifest_["captions"].size());
    const auto n_images = static_cast<std::int64_t>(manifest_["images"].size());
    d_ = read_npy(dir_ / "golden" / "text_embeds.npy").shape.at(1);
    texts_ = read_npy_f32(dir_ / "golden" / "text_embeds.npy", {n_captions, d_});
    images_ = read_npy_f32(dir_ / "golden" / "image_embeds.npy", {n_images, d_});
    gallery_ = unit_rows(kN, d_, 23);
  }

  ServeOptions options() const {
    ServeOptions o;
    o.threads = 2;
    o.model_dir = dir_;
    o.model_threads = 1;
    return o;
  }

  // The server normalizes a query embedding; so does this comparison with the golden one.
  std::vector<float> unit(const float* golden) const {
    std::vector<float> u(golden, golden + d_);
    double norm = 0;
    for (const float v : u) norm += double{v} * v;
    for (float& v : u) v = static_cast<float>(v / std::sqrt(norm));
    return u;
  }

  void expect_same_results(const json& got, const float* golden) const {
    const std::vector<float> unit = this->unit(golden);
    EXPECT_EQ(got.at("ids").get<std::vector<std::int64_t>>(),
              brute_force_top_k(gallery_, d_, unit.data(), 5));
    const auto scores = got.at("scores").get<std::vector<double>>();
    const auto ids = got.at("ids").get<std::vector<std::int64_t>>();
    for (std::size_t r = 0; r < ids.size(); ++r) {
      double s = 0;
      for (std::int64_t j = 0; j < d_; ++j) s += double{gallery_[ids[r] * d_ + j]} * unit[j];
      EXPECT_NEAR(scores[r], s, 1e-4);
    }
  }

  fs::path dir_;
  json manifest_;
  std::int64_t d_ = 0;
  std::vector<float> texts_, images_, gallery_;
};

TEST_P(SiglipQuery, TextAndImageQueriesMatchTheGoldenEmbeddings) {
  RunningServer server(flat_index(gallery_, d_), options());
  auto cli = server.client();
  const auto captions = manifest_["captions"].get<std::vector<std::string>>();
  for (std::size_t c = 0; c < 3; ++c) {
    SCOPED_TRACE(captions[c]);
    auto res = post_json(cli, json{{"text", captions[c]}, {"k", 5}}.dump());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    expect_same_results(json::parse(res->body), texts_.data() + c * d_);
  }
  const auto images = manifest_["images"].get<std::vector<std::string>>();
  for (std::size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(images[i]);
    std::ifstream in(dir_.parent_path() / "images" / images[i], std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto res =
        cli.Post("/v1/search", httplib::MultipartFormDataItems{
                                   {"image", bytes, images[i], "image/*"}, {"k", "5", "", ""}});
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    expect_same_results(json::parse(res->body), images_.data() + i * d_);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SiglipQuery, ::testing::Values("siglip-tiny", "siglip2-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace vlbench::testing
