// ColPali (PaliGemma base + PEFT LoRA adapter) through the model interface against the goldens
// of the float64 reference (../shared/fixtures/colpali-tiny, see its README): processor ids
// from both tokenizer files, page and query token embeddings, MaxSim scores, the merge, bf16,
// batch and thread invariance, and the errors of damaged adapters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/models/checkpoint.hpp"
#include "vlbench/models/model.hpp"
#include "vlbench/text/gemma_tokenizer.hpp"
#include "vlbench/text/hf_tokenizer.hpp"
#include "vlbench/vision/image.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::min_row_cosine;
using testing::read_npy_f32;

fs::path fixture() {
  return fs::path(VLBENCH_SHARED_FIXTURES) / "colpali-tiny";
}

nlohmann::json manifest() {
  std::ifstream in(fixture() / "golden" / "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<std::int32_t> read_i32(const fs::path& path) {
  const NpyArray array = read_npy(path);
  EXPECT_EQ(array.dtype, DType::i64) << path;
  std::vector<std::int32_t> out(static_cast<std::size_t>(array.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::int64_t v = 0;
    std::memcpy(&v, array.data + i * 8, 8);
    out[i] = static_cast<std::int32_t>(v);
  }
  return out;
}

// A writable copy of the (read-only) fixture folder `from` at `to`.
void copy_folder(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    fs::copy_file(entry.path(), to / entry.path().filename());
    fs::permissions(to / entry.path().filename(), fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::add);
  }
}

std::unique_ptr<EmbeddingModel> load(const fs::path& dir, const fs::path& base,
                                     ComputeType compute = ComputeType::fp32, int threads = 2,
                                     bool weights = true) {
  ModelLoadOptions options;
  options.compute = compute;
  options.threads = threads;
  options.base = base;
  options.weights = weights;
  return load_model(dir, options);
}

// Golden token embeddings [n, T, 128] of the real tokens of each row, packed: the image rows are
// all real; query rows are left-padded, so their last lengths[r] rows are real.
std::vector<float> golden_tokens(const std::string& what, bool left_padded) {
  const fs::path golden = fixture() / "golden";
  const NpyArray array = read_npy(golden / (what + "_embeddings.npy"));
  const std::vector<float> all = read_npy_f32(golden / (what + "_embeddings.npy"));
  const std::vector<std::int32_t> lengths = read_i32(golden / (what + "_lengths.npy"));
  const std::int64_t t_max = array.shape[1], d = array.shape[2];
  std::vector<float> packed;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    const std::int64_t first = left_padded ? t_max - lengths[r] : 0;
    const float* src = all.data() + (static_cast<std::int64_t>(r) * t_max + first) * d;
    packed.insert(packed.end(), src, src + std::int64_t{lengths[r]} * d);
  }
  return packed;
}

class ColPali : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fixture())) GTEST_SKIP() << "no fixture at " << fixture();
    adapter_ = fixture() / "adapter";
    base_ = fixture() / "base";
    model_ = load(adapter_, base_);
    pixels_ = read_npy_f32(fixture() / "golden" / "pixel_values.npy", {8, 3, 28, 28});
    const nlohmann::json m = manifest();
    for (const auto& query : m["query_ids_unpadded"]) {
      query_ids_.push_back(query.get<std::vector<std::int32_t>>());
    }
  }

  std::vector<float> images(const EmbeddingModel& model, std::int64_t first, std::int64_t n) const {
    std::vector<float> out(
        static_cast<std::size_t>(n * model.image_vectors() * model.embed_dim()));
    model.encode_images(pixels_.data() + first * 3 * 28 * 28, n, out.data());
    return out;
  }
  std::vector<float> queries(const EmbeddingModel& model,
                             const std::vector<std::vector<std::int32_t>>& ids) const {
    std::int64_t rows = 0;
    for (const auto& q : ids) rows += model.text_vectors(q);
    std::vector<float> out(static_cast<std::size_t>(rows * model.embed_dim()));
    model.encode_texts(ids, out.data());
    return out;
  }

  fs::path adapter_, base_;
  std::unique_ptr<EmbeddingModel> model_;
  std::vector<float> pixels_;
  std::vector<std::vector<std::int32_t>> query_ids_;
};

TEST_F(ColPali, RegistryFindsTheBaseOfTheAdapter) {
  EXPECT_EQ(detect_model_family(adapter_, base_), "colpali");
  EXPECT_EQ(detect_model_family(base_), "colpali");
  EXPECT_EQ(model_->family(), "colpali");
  EXPECT_EQ(model_->name(), "adapter");
  EXPECT_EQ(model_->output_kind(), OutputKind::multi_vector);
  EXPECT_EQ(model_->embed_dim(), 128);
  EXPECT_EQ(model_->image_size(), 28);
  EXPECT_NE(model_->description().find("LoRA merged"), std::string::npos);

  // base_model_name_or_path (vidore/colpaligemma-3b-pt-448-base) is looked for next to the
  // adapter: found when a folder of that name is there.
  testing::TempDir dir;
  copy_folder(adapter_, dir.path() / "colpali-v1.3");
  copy_folder(base_, dir.path() / "colpaligemma-3b-pt-448-base");
  EXPECT_EQ(detect_model_family(dir.path() / "colpali-v1.3"), "colpali");
  fs::remove_all(dir.path() / "colpaligemma-3b-pt-448-base");
  // ... or, a Hub id, in the local Hugging Face cache ($HF_HUB_CACHE): not there, the error
  // says how to fetch it; there (refs/main -> snapshots/COMMIT), it is found.
  const char* old_cache = std::getenv("HF_HUB_CACHE");
  const std::string saved_cache = old_cache ? old_cache : "";
  ::setenv("HF_HUB_CACHE", (dir.path() / "hub").c_str(), 1);
  expect_error([&] { detect_model_family(dir.path() / "colpali-v1.3"); },
               {"adapter_config.json", "vidore/colpaligemma-3b-pt-448-base", "was not found",
                "searched", "colpaligemma-3b-pt-448-base", "--base",
                "fetch it with: vlbench pull vidore/colpaligemma-3b-pt-448-base"});
  const fs::path cached = dir.path() / "hub" / "models--vidore--colpaligemma-3b-pt-448-base";
  const std::string commit(40, 'c');
  copy_folder(base_, cached / "snapshots" / commit);
  fs::create_directories(cached / "refs");
  testing::write_text(cached / "refs" / "main", commit);
  EXPECT_EQ(detect_model_family(dir.path() / "colpali-v1.3"), "colpali");
  if (old_cache != nullptr) {
    ::setenv("HF_HUB_CACHE", saved_cache.c_str(), 1);
  } else {
    ::unsetenv("HF_HUB_CACHE");
  }
  // --base on something that is not an adapter; --base that is not a folder.
  expect_error([&] { load(base_, base_); }, {"--base", "not a PEFT adapter folder"});
  expect_error([&] { load(adapter_, dir.path() / "nowhere"); },
               {"--base", "nowhere", "not a checkpoint directory"});
}

TEST_F(ColPali, ParameterCountIsBasePlusAdapter) {
  std::int64_t expected = 0;
  for (const fs::path& file :
       {base_ / "model.safetensors", adapter_ / "adapter_model.safetensors"}) {
    std::ifstream in(file, std::ios::binary);
    std::uint64_t header_size = 0;
    in.read(reinterpret_cast<char*>(&header_size), 8);
    std::string header(header_size, '\0');
    in.read(header.data(), static_cast<std::streamsize>(header_size));
    const nlohmann::json tensors = nlohmann::json::parse(header);
    for (const auto& [name, entry] : tensors.items()) {
      if (name == "__metadata__") continue;
      std::int64_t n = 1;
      for (const auto& dim : entry["shape"]) n *= dim.get<std::int64_t>();
      expected += n;
    }
  }
  EXPECT_EQ(model_->parameter_count(), expected);
}

TEST_F(ColPali, QueryIdsAreTheProcessorsFromBothTokenizerFiles) {
  const nlohmann::json m = manifest();
  const auto texts = m["queries"].get<std::vector<std::string>>();
  EXPECT_EQ(model_->tokenize(texts), query_ids_);
  EXPECT_EQ(model_->image_vectors(), m["image_ids_unpadded"].size());

  // The same strings through tokenizer.json (the real tokenizers library made the goldens from
  // it) and through tokenizer.model (libsentencepiece), with no special ids added.
  const auto strings = m["query_strings"].get<std::vector<std::string>>();
  const HfTokenizer json = HfTokenizer::from_file(adapter_ / "tokenizer.json");
  const GemmaTokenizer spm = GemmaTokenizer::from_directory(adapter_);
  for (std::size_t i = 0; i < strings.size(); ++i) {
    EXPECT_EQ(json.encode(strings[i], 0, false), query_ids_[i]) << strings[i];
    EXPECT_EQ(spm.encode(strings[i], 0, false), query_ids_[i]) << strings[i];
  }
  const std::string page = m["image_prompt_string"].get<std::string>();
  const auto page_ids = m["image_ids_unpadded"].get<std::vector<std::int32_t>>();
  EXPECT_EQ(json.encode(page, 0, false), page_ids);
  EXPECT_EQ(spm.encode(page, 0, false), page_ids);  // <image> is an added token, id 611
  // With special ids, both put one <bos> first, as GemmaTokenizer(Fast) does.
  EXPECT_EQ(spm.encode("Query: a", 0), json.encode("Query: a", 0));
  EXPECT_EQ(spm.encode("Query: a", 0).front(), 2);

  // A folder with tokenizer.json only gives the same ids (the model reads tokenizer.model when
  // both are there).
  testing::TempDir dir;
  copy_folder(adapter_, dir.path() / "a");
  fs::remove(dir.path() / "a" / "tokenizer.model");
  const auto json_only = load(dir.path() / "a", base_, ComputeType::fp32, 1, /*weights=*/false);
  EXPECT_EQ(json_only->tokenize(texts), query_ids_);
  EXPECT_NE(json_only->text_rules().find("tokenizer.json"), std::string::npos);
  EXPECT_NE(model_->text_rules().find("tokenizer.model"), std::string::npos);
}

TEST_F(ColPali, PreprocessingGivesTheGoldenPixels) {
  const auto names = manifest()["images"].get<std::vector<std::string>>();
  const PreprocessConfig& config = model_->preprocess_config();
  std::vector<float> pixels(3 * 28 * 28);
  for (std::size_t i = 0; i < names.size(); ++i) {
    preprocess(decode_image(fs::path(VLBENCH_SHARED_FIXTURES) / "images" / names[i]), config,
               pixels.data());
    const std::vector<float> golden(pixels_.begin() + static_cast<std::ptrdiff_t>(i * pixels.size()),
                                    pixels_.begin() +
                                        static_cast<std::ptrdiff_t>((i + 1) * pixels.size()));
    EXPECT_LE(testing::max_abs_diff(pixels, golden), 1e-6) << names[i];
  }
}

TEST_F(ColPali, PageTokensMatchGolden) {
  const std::vector<float> golden = golden_tokens("image", /*left_padded=*/false);
  const std::vector<float> out = images(*model_, 0, 8);
  ASSERT_EQ(out.size(), golden.size());
  EXPECT_LE(testing::max_abs_diff(out, golden), 1e-4);
}

TEST_F(ColPali, QueryTokensMatchGoldenWhateverThePaddingSide) {
  // The goldens were left-padded in a batch; vlbench runs each query whole (right-padded and
  // masked in its batch): the real tokens agree.
  const std::vector<float> golden = golden_tokens("query", /*left_padded=*/true);
  const std::vector<float> out = queries(*model_, query_ids_);
  ASSERT_EQ(out.size(), golden.size());
  EXPECT_LE(testing::max_abs_diff(out, golden), 1e-4);
}

TEST_F(ColPali, MaxSimScoresMatchGolden) {
  const std::vector<float> pages = images(*model_, 0, 8);
  const std::vector<float> qs = queries(*model_, query_ids_);
  const std::vector<float> golden =
      read_npy_f32(fixture() / "golden" / "maxsim_scores.npy", {8, 8});
  const std::int64_t d = 128, page_tokens = model_->image_vectors();
  std::int64_t q_row = 0;
  double worst = 0;
  for (std::size_t q = 0; q < query_ids_.size(); ++q) {
    const auto n_q = static_cast<std::int64_t>(query_ids_[q].size());
    for (std::int64_t p = 0; p < 8; ++p) {
      double score = 0;
      for (std::int64_t t = 0; t < n_q; ++t) {
        double best = -1e30;
        for (std::int64_t s = 0; s < page_tokens; ++s) {
          double dot = 0;
          for (std::int64_t i = 0; i < d; ++i) {
            dot += double{qs[(q_row + t) * d + i]} * pages[(p * page_tokens + s) * d + i];
          }
          best = std::max(best, dot);
        }
        score += best;
      }
      worst = std::max(worst, std::abs(score - golden[q * 8 + p]));
    }
    q_row += n_q;
  }
  EXPECT_LE(worst, 1e-3);
}

TEST_F(ColPali, TheBaseAloneGivesOtherEmbeddings) {
  const auto base = load(base_, {});
  EXPECT_NE(base->description().find("without adapter"), std::string::npos);
  const std::vector<float> golden = golden_tokens("image", false);
  const double diff = testing::max_abs_diff(images(*base, 0, 8), golden);
  EXPECT_GT(diff, 0.05) << "the merge must matter (the fixture's LoRA moves values by ~0.4)";
}

TEST_F(ColPali, Bf16TokensAreCloseToGolden) {
  if (!make_backend("cpu")->supports(ComputeType::bf16)) GTEST_SKIP() << "no bf16 in this build";
  const auto bf16 = load(adapter_, base_, ComputeType::bf16);
  EXPECT_GE(min_row_cosine(images(*bf16, 0, 8), golden_tokens("image", false), 128), 0.999);
  EXPECT_GE(min_row_cosine(queries(*bf16, query_ids_), golden_tokens("query", true), 128), 0.999);
}

TEST_F(ColPali, BatchSizeAndThreadsDoNotChangeTheTokens) {
  const std::vector<float> all = images(*model_, 0, 8);
  const auto one_thread = load(adapter_, base_, ComputeType::fp32, 1);
  EXPECT_LE(testing::max_abs_diff(images(*one_thread, 0, 8), all), 1e-6);
  const std::int64_t per_page = model_->image_vectors() * 128;
  for (std::int64_t p = 0; p < 8; p += 3) {
    const std::vector<float> single = images(*model_, p, 1);
    const std::vector<float> expected(all.begin() + p * per_page, all.begin() + (p + 1) * per_page);
    EXPECT_LE(testing::max_abs_diff(single, expected), 1e-5) << "page " << p;
  }
  const std::vector<float> batch = queries(*model_, query_ids_);
  std::int64_t row = 0;
  for (const auto& q : query_ids_) {
    const std::vector<float> single = queries(*one_thread, {q});
    const std::vector<float> expected(batch.begin() + row * 128,
                                      batch.begin() + (row + static_cast<std::int64_t>(q.size())) * 128);
    EXPECT_LE(testing::max_abs_diff(single, expected), 1e-5);
    row += static_cast<std::int64_t>(q.size());
  }
}

TEST_F(ColPali, BadIdsAreErrorsNamingTheSequence) {
  expect_error([&] { queries(*model_, {{2, 3}, {2, 640}}); }, {"sequence 1", "640", "[0, 640)"});
  expect_error([&] { queries(*model_, {{}}); }, {"sequence 0", "no token ids"});
}

// A copy of the adapter with its tensors or config changed.
class DamagedAdapter : public ColPali {
 protected:
  fs::path copy_adapter() {
    const fs::path out = dir_.path() / ("adapter" + std::to_string(copies_++));
    copy_folder(adapter_, out);
    return out;
  }
  // Rewrites adapter_model.safetensors through `edit` (name, shape, data of every tensor).
  template <typename Edit>
  fs::path rewrite_tensors(Edit edit) {
    const fs::path out = copy_adapter();
    const Checkpoint source = Checkpoint::open_safetensors(adapter_ / "adapter_model.safetensors");
    struct Tensor {
      std::string name;
      std::vector<std::int64_t> shape;
      std::vector<float> data;
    };
    std::vector<Tensor> tensors;
    for (const TensorRef& t : source.tensors()) {
      tensors.push_back({t.name, t.shape, source.load_f32(t.name, t.shape)});
    }
    edit(tensors);
    std::vector<TensorToWrite> write;
    for (const Tensor& t : tensors) write.push_back({t.name, DType::f32, t.shape, t.data.data()});
    write_safetensors(out / "adapter_model.safetensors", write);
    return out;
  }
  fs::path rewrite_config(const std::string& key, const nlohmann::json& value) {
    const fs::path out = copy_adapter();
    std::ifstream in(adapter_ / "adapter_config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    config[key] = value;
    std::ofstream(out / "adapter_config.json") << config.dump();
    return out;
  }
  testing::TempDir dir_;
  int copies_ = 0;
};

TEST_F(DamagedAdapter, ScaleIsAlphaOverR) {
  // lora_alpha 32 → 8 quarters the scale: other embeddings, and not the golden ones.
  const auto model = load(rewrite_config("lora_alpha", 8), base_);
  EXPECT_GT(testing::max_abs_diff(images(*model, 0, 2), images(*model_, 0, 2)), 1e-3);
}

TEST_F(DamagedAdapter, ConfigsThisMergeCannotHonourAreErrors) {
  expect_error([&] { load(rewrite_config("peft_type", "IA3"), base_); },
               {"adapter_config.json", "peft_type", "IA3", "LORA"});
  expect_error([&] { load(rewrite_config("use_dora", true), base_); },
               {"adapter_config.json", "use_dora", "not supported"});
  expect_error([&] { load(rewrite_config("modules_to_save", {"custom_text_proj"}), base_); },
               {"adapter_config.json", "modules_to_save"});
  expect_error([&] { load(rewrite_config("r", 4), base_); },
               {"adapter_model.safetensors", "rank r = 4"});
  expect_error([&] { load(rewrite_config("target_modules", "(["), base_); },
               {"adapter_config.json", "target_modules", "regular expression"});
}

TEST_F(DamagedAdapter, MissingUnknownAndMisshapenTensorsAreNamed) {
  const std::string q0 = "base_model.model.model.language_model.model.layers.0.self_attn.q_proj";
  // A LoRA whose B is gone.
  expect_error(
      [&] {
        load(rewrite_tensors([&](auto& tensors) {
               std::erase_if(tensors, [&](const auto& t) { return t.name == q0 + ".lora_B.weight"; });
             }),
             base_);
      },
      {"adapter_model.safetensors", "layers.0.self_attn.q_proj", "lora_A but no lora_B"});
  // A module target_modules selects but the adapter lacks.
  expect_error(
      [&] {
        load(rewrite_tensors([&](auto& tensors) {
               std::erase_if(tensors, [&](const auto& t) { return t.name.starts_with(q0); });
             }),
             base_);
      },
      {"no LoRA for", "layers.0.self_attn.q_proj"});
  // A LoRA for a module the base does not have.
  expect_error(
      [&] {
        load(rewrite_tensors([&](auto& tensors) {
               const auto copies = tensors;
               for (auto t : copies) {
                 if (!t.name.starts_with(q0)) continue;
                 t.name.replace(t.name.find("layers.0"), 8, "layers.7");
                 tensors.push_back(t);
               }
             }),
             base_);
      },
      {"layers.7.self_attn.q_proj", "does not have"});
  // A misshapen A (in features 63 for a 64-wide layer).
  expect_error(
      [&] {
        load(rewrite_tensors([&](auto& tensors) {
               for (auto& t : tensors) {
                 if (t.name == q0 + ".lora_A.weight") {
                   t.shape = {8, 63};
                   t.data.resize(8 * 63);
                 }
               }
             }),
             base_);
      },
      {q0 + ".lora_A.weight", "[8, 63]"});
  // A tensor that is not a LoRA weight.
  expect_error(
      [&] {
        load(rewrite_tensors([&](auto& tensors) {
               tensors.push_back({"base_model.model.custom_text_proj.bias", {128}, std::vector<float>(128)});
             }),
             base_);
      },
      {"custom_text_proj.bias", "not a LoRA weight"});
}

TEST(ColPaliRegistry, AGenerativePaliGemmaIsNotColPali) {
  const fs::path base = fixture() / "base";
  if (!fs::exists(base)) GTEST_SKIP();
  testing::TempDir dir;
  copy_folder(base, dir.path() / "m");
  std::ifstream in(base / "config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  config["architectures"] = {"PaliGemmaForConditionalGeneration"};
  std::ofstream(dir.path() / "m" / "config.json") << config.dump();
  expect_error([&] { detect_model_family(dir.path() / "m"); },
               {"config.json", "architectures", "not ColPali"});
}

}  // namespace
}  // namespace vlbench
