// Model references (ORG/NAME[@REVISION]) resolved in local Hugging Face caches that the tests
// lay out by hand as huggingface_hub does (branch and tag refs, commit SHAs, symlinks into
// blobs/, subfolders), the cache's place from the environment, the file-selection rules of
// `vlbench pull`, and git blob ids against `git hash-object`'s.
#include "cli/hub_test_server.hpp"
#include "test_util.hpp"

#include "hub/digest.hpp"
#include "hub/progress.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/hub/cache.hpp>
#include <vlbench/hub/pull.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::EnvVars;
using testing::expect_error;
using testing::HubFile;
using testing::ScopedEnv;
using testing::TempDir;

const std::string kC0 = "0000000000000000000000000000000000000c00";
const std::string kC1 = "1111111111111111111111111111111111111c11";

HubSettings settings_for(const fs::path& cache) {
  HubSettings settings;
  settings.cache_dir = cache;
  settings.cache_dir_origin = "$HF_HUB_CACHE";
  return settings;
}

// main -> kC1 (new config), tag v1 -> kC0; a file in a subfolder; a shared blob.
void write_two_commits(const fs::path& cache) {
  const std::string weights = testing::pseudo_random_bytes(3000, 7);
  testing::write_cached_repo(cache, "models--org--m", kC0,
                             {{"config.json", "{\"v\": 0}"}, {"model.safetensors", weights, true}});
  testing::write_cached_repo(cache, "models--org--m", kC1,
                             {{"config.json", "{\"v\": 1}"},
                              {"model.safetensors", weights, true},
                              {"sub/extra.json", "[1, 2]"}});
  testing::write_ref(cache, "models--org--m", "main", kC1);
  testing::write_ref(cache, "models--org--m", "v1", kC0 + "\n");  // a newline is tolerated
}

TEST(HubReference, ParsesTheForms) {
  const HubReference plain = parse_hub_reference("openai/clip-vit-large-patch14");
  EXPECT_EQ(plain.repo_id, "openai/clip-vit-large-patch14");
  EXPECT_EQ(plain.revision, "main");
  EXPECT_EQ(plain.folder_name(), "models--openai--clip-vit-large-patch14");
  EXPECT_EQ(plain.to_string(), "openai/clip-vit-large-patch14");
  const HubReference tagged = parse_hub_reference("google/siglip-so400m-patch14-384@v1.0");
  EXPECT_EQ(tagged.repo_id, "google/siglip-so400m-patch14-384");
  EXPECT_EQ(tagged.revision, "v1.0");
  EXPECT_EQ(tagged.to_string(), "google/siglip-so400m-patch14-384@v1.0");
  EXPECT_EQ(parse_hub_reference("vidore/colpali-v1.3@refs/pr/1").revision, "refs/pr/1");
  EXPECT_EQ(parse_hub_reference("a_b/c.d@" + kC1).revision, kC1);
  EXPECT_TRUE(is_commit_hash(kC1));
  EXPECT_FALSE(is_commit_hash("1111111"));
  EXPECT_FALSE(is_commit_hash("G111111111111111111111111111111111111c11"));

  EXPECT_TRUE(looks_like_hub_reference("org/name"));
  EXPECT_TRUE(looks_like_hub_reference("org/na me@x/y"));
  EXPECT_FALSE(looks_like_hub_reference("name"));
  EXPECT_FALSE(looks_like_hub_reference("./org/name"));
  EXPECT_FALSE(looks_like_hub_reference("/abs/name"));
  EXPECT_FALSE(looks_like_hub_reference("a/b/c"));
  EXPECT_FALSE(looks_like_hub_reference("org/"));
}

TEST(HubReference, RejectsBadSyntaxSayingWhy) {
  expect_error([] { parse_hub_reference("org/na me"); }, {"'org/na me'", "NAME 'na me' holds ' '"});
  expect_error([] { parse_hub_reference("org/name@"); }, {"the revision after '@' is empty"});
  expect_error([] { parse_hub_reference("org/-name"); }, {"must start and end with a letter"});
  expect_error([] { parse_hub_reference("org/na--me"); }, {"may not hold '--' or '..'"});
  expect_error([] { parse_hub_reference("org/name@../x"); }, {"has a '..' component"});
  expect_error([] { parse_hub_reference("a/b/c"); }, {"exactly one '/'"});
  expect_error([] { parse_hub_reference("org/" + std::string(100, 'n')); }, {"at most 96"});
}

TEST(HubSettings, TheCacheFolderFollowsHuggingfaceHubsOrder) {
  ScopedEnv clean(testing::clean_hub_env());
  {
    ScopedEnv env(EnvVars{{"HOME", "/home/u"}});
    const HubSettings s = hub_settings_from_environment();
    EXPECT_EQ(s.cache_dir, fs::path("/home/u/.cache/huggingface/hub"));
    EXPECT_EQ(s.cache_dir_origin, "~/.cache/huggingface/hub");
    EXPECT_EQ(s.endpoint, "https://huggingface.co");
    EXPECT_FALSE(s.offline);
  }
  {
    ScopedEnv env(EnvVars{{"XDG_CACHE_HOME", "/xdg"}});
    EXPECT_EQ(hub_settings_from_environment().cache_dir, fs::path("/xdg/huggingface/hub"));
  }
  {
    ScopedEnv env(EnvVars{{"XDG_CACHE_HOME", "/xdg"}, {"HF_HOME", "/hf"}});
    const HubSettings s = hub_settings_from_environment();
    EXPECT_EQ(s.cache_dir, fs::path("/hf/hub"));
    EXPECT_EQ(s.cache_dir_origin, "$HF_HOME/hub");
  }
  {
    ScopedEnv env(EnvVars{{"HF_HOME", "/hf"}, {"HUGGINGFACE_HUB_CACHE", "/legacy"}});
    EXPECT_EQ(hub_settings_from_environment().cache_dir, fs::path("/legacy"));
  }
  {
    ScopedEnv env(EnvVars{{"HF_HOME", "/hf"},
                          {"HUGGINGFACE_HUB_CACHE", "/legacy"},
                          {"HF_HUB_CACHE", "~/hub-cache"},
                          {"HOME", "/home/u"}});
    const HubSettings s = hub_settings_from_environment();
    EXPECT_EQ(s.cache_dir, fs::path("/home/u/hub-cache"));  // ~ expanded
    EXPECT_EQ(s.cache_dir_origin, "$HF_HUB_CACHE");
  }
}

TEST(HubSettings, EndpointTokenAndOfflineMode) {
  ScopedEnv clean(testing::clean_hub_env());
  TempDir dir;
  {
    ScopedEnv env(EnvVars{{"HF_ENDPOINT", "http://127.0.0.1:9/"}, {"HF_TOKEN", "hf_abc\n"}});
    const HubSettings s = hub_settings_from_environment();
    EXPECT_EQ(s.endpoint, "http://127.0.0.1:9");
    EXPECT_EQ(s.token, "hf_abc");
  }
  // No HF_TOKEN: the file `huggingface-cli login` writes, $HF_HOME/token or $HF_TOKEN_PATH.
  testing::write_text(dir / "token", "hf_from_file\n");
  testing::write_text(dir / "other", "hf_other");
  {
    ScopedEnv env(EnvVars{{"HF_HOME", dir.path().string()}});
    EXPECT_EQ(hub_settings_from_environment().token, "hf_from_file");
  }
  {
    ScopedEnv env(
        EnvVars{{"HF_HOME", dir.path().string()}, {"HF_TOKEN_PATH", (dir / "other").string()}});
    EXPECT_EQ(hub_settings_from_environment().token, "hf_other");
  }
  {
    ScopedEnv env(EnvVars{{"HF_HOME", dir.path().string()}, {"HF_TOKEN", "hf_env"}});
    EXPECT_EQ(hub_settings_from_environment().token, "hf_env");
  }
  for (const char* on : {"1", "ON", "yes", "True"}) {
    ScopedEnv env(EnvVars{{"HF_HUB_OFFLINE", on}});
    EXPECT_TRUE(hub_settings_from_environment().offline) << on;
  }
  for (const char* off : {"0", "false", "no"}) {
    ScopedEnv env(EnvVars{{"HF_HUB_OFFLINE", off}});
    EXPECT_FALSE(hub_settings_from_environment().offline) << off;
  }
}

TEST(ModelResolution, BranchTagCommitAndSymlinksIntoBlobs) {
  TempDir dir;
  const fs::path cache = dir / "hub";
  write_two_commits(cache);
  const HubSettings settings = settings_for(cache);
  const fs::path repo = cache / "models--org--m";

  const ModelSource main = resolve_model_reference("org/m", settings);
  EXPECT_EQ(main.dir, repo / "snapshots" / kC1);
  ASSERT_TRUE(main.hub.has_value());
  EXPECT_EQ(main.hub->repo_id, "org/m");
  EXPECT_EQ(main.hub->revision, "main");
  EXPECT_EQ(main.commit, kC1);
  EXPECT_EQ(main.display_name(), "m");
  EXPECT_EQ(read_file(main.dir / "config.json"), "{\"v\": 1}");
  EXPECT_EQ(read_file(main.dir / "sub" / "extra.json"), "[1, 2]");
  EXPECT_EQ(fs::read_symlink(main.dir / "sub" / "extra.json").string(),
            "../../../blobs/" + testing::git_blob_sha1_of("[1, 2]"));

  const ModelSource tag = resolve_model_reference("org/m@v1", settings);
  EXPECT_EQ(tag.dir, repo / "snapshots" / kC0);
  EXPECT_EQ(tag.commit, kC0);
  EXPECT_EQ(tag.hub->revision, "v1");
  EXPECT_EQ(tag.display_name(), "m@v1");
  EXPECT_EQ(read_file(tag.dir / "config.json"), "{\"v\": 0}");

  // A commit names its snapshot without a ref.
  const ModelSource commit = resolve_model_reference("org/m@" + kC0, settings);
  EXPECT_EQ(commit.dir, repo / "snapshots" / kC0);
  EXPECT_EQ(commit.commit, kC0);
  // A snapshot is named by its repository (models without "_name_or_path").
  EXPECT_EQ(hub_repo_id_of_snapshot(main.dir), "org/m");
  EXPECT_EQ(hub_repo_id_of_snapshot(main.dir / ""), "org/m");
  EXPECT_EQ(hub_repo_id_of_snapshot(repo / "snapshots"), "");
  EXPECT_EQ(hub_repo_id_of_snapshot(dir / "models--org--m" / "snapshots" / "not-a-commit"), "");
  // Both snapshots share the weights' blob.
  EXPECT_EQ(fs::canonical(main.dir / "model.safetensors"),
            fs::canonical(tag.dir / "model.safetensors"));
}

TEST(ModelResolution, NotCachedNamesEveryPathSearchedAndThePullCommand) {
  TempDir dir;
  const fs::path cache = dir / "hub";
  write_two_commits(cache);
  const HubSettings settings = settings_for(cache);
  const fs::path repo = cache / "models--org--m";
  expect_error([&] { resolve_model_reference("org/absent@dev", settings); },
               {"--model org/absent@dev: not in the local Hugging Face cache",
                "$HF_HUB_CACHE = " + cache.string(),
                fs::absolute("org/absent@dev").string() + " (no such folder)",
                (cache / "models--org--absent" / "refs" / "dev").string() + " (missing)",
                "fetch it with: vlbench pull org/absent@dev"});
  expect_error([&] { resolve_model_reference("org/m@dev", settings, "--rerank-model"); },
               {"--rerank-model org/m@dev:", (repo / "refs" / "dev").string() + " (missing)",
                "vlbench pull org/m@dev"});
  const std::string c2 = "2222222222222222222222222222222222222222";
  expect_error([&] { resolve_model_reference("org/m@" + c2, settings); },
               {(repo / "snapshots" / c2).string() + " (missing)", "vlbench pull org/m@" + c2});
  // A ref whose snapshot is gone, and a snapshot without a config (a pull cut short).
  testing::write_ref(cache, "models--org--m", "gone", c2);
  expect_error([&] { resolve_model_reference("org/m@gone", settings); },
               {(repo / "snapshots" / c2).string() + " (missing)"});
  fs::create_directories(repo / "snapshots" / c2);
  expect_error([&] { resolve_model_reference("org/m@gone", settings); },
               {"only partly in the local Hugging Face cache",
                (repo / "snapshots" / c2 / "config.json").string() + " (missing)",
                (repo / "snapshots" / c2 / "open_clip_config.json").string() + " (missing)",
                (repo / "snapshots" / c2 / "adapter_config.json").string() + " (missing)"});
  // A repository of open_clip alone has open_clip_config.json and no config.json.
  testing::write_cached_repo(cache, "models--org--m", c2,
                             {{"open_clip_config.json", "{\"model_cfg\": {}}"},
                              {"open_clip_model.safetensors", "weights", true}});
  EXPECT_EQ(resolve_model_reference("org/m@gone", settings).dir, repo / "snapshots" / c2);
  testing::write_ref(cache, "models--org--m", "bad", "not a commit");
  expect_error([&] { resolve_model_reference("org/m@bad", settings); },
               {(repo / "refs" / "bad").string(), "expected a 40-hex commit SHA"});
}

TEST(ModelResolution, ASymlinkWhoseBlobIsGoneIsAnError) {
  TempDir dir;
  const fs::path cache = dir / "hub";
  write_two_commits(cache);
  fs::remove(cache / "models--org--m" / "blobs" / testing::git_blob_sha1_of("[1, 2]"));
  expect_error(
      [&] { resolve_model_reference("org/m", settings_for(cache)); },
      {"sub/extra.json points to ../../../blobs/", "which is missing", "vlbench pull org/m"});
}

TEST(ModelResolution, AnExistingFolderWinsAndOtherValuesSayWhatIsWrong) {
  TempDir dir;
  const fs::path cache = dir / "hub";
  write_two_commits(cache);
  const HubSettings settings = settings_for(cache);
  fs::create_directories(dir / "org" / "m");
  testing::write_text(dir / "org" / "m" / "config.json", "{}");
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  const ModelSource local = resolve_model_reference("org/m", settings);
  fs::current_path(cwd);
  EXPECT_EQ(local.dir, fs::path("org/m"));
  EXPECT_FALSE(local.hub.has_value());
  EXPECT_EQ(local.display_name(), "m");
  EXPECT_EQ(resolve_model_reference((dir / "org" / "m/").string(), settings).display_name(), "m");

  expect_error([&] { resolve_model_reference("org/na me", settings); },
               {"--model org/na me: no such folder, and 'org/na me' is not a Hugging Face model "
                "reference ORG/NAME[@REVISION]: NAME 'na me' holds ' '"});
  expect_error([&] { resolve_model_reference("no-such-folder", settings); },
               {"--model no-such-folder: no such checkpoint folder", "ORG/NAME[@REVISION]"});
  expect_error([&] { resolve_model_reference("", settings); }, {"--model: empty"});
}

TEST(ModelResolution, HfHomeHubIsTheCacheWithoutHfHubCache) {
  TempDir dir;
  write_two_commits(dir / "hub");
  ScopedEnv env(testing::clean_hub_env());
  ScopedEnv home(EnvVars{{"HF_HOME", dir.path().string()}});
  const ModelSource source = resolve_model_reference("org/m@v1");
  EXPECT_EQ(source.dir, dir / "hub" / "models--org--m" / "snapshots" / kC0);
  expect_error([] { resolve_model_reference("org/other"); },
               {"$HF_HOME/hub = " + (dir / "hub").string()});
}

TEST(PullFiles, GlobsMatchAsPythonsFnmatch) {
  EXPECT_TRUE(glob_match("*.json", "config.json"));
  EXPECT_TRUE(glob_match("*.json", "sub/x.json"));  // '*' crosses '/'
  EXPECT_TRUE(glob_match("tokenizer*.json", "tokenizer_config.json"));
  EXPECT_TRUE(glob_match("tokenizer*.json", "tokenizer.json"));
  EXPECT_FALSE(glob_match("tokenizer*.json", "tokenizer.model"));
  EXPECT_TRUE(glob_match("?.txt", "a.txt"));
  EXPECT_FALSE(glob_match("?.txt", "ab.txt"));
  EXPECT_TRUE(glob_match("[ab].txt", "b.txt"));
  EXPECT_FALSE(glob_match("[ab].txt", "c.txt"));
  EXPECT_TRUE(glob_match("[!ab].txt", "c.txt"));
  EXPECT_TRUE(glob_match("[a-c]x", "bx"));
  EXPECT_FALSE(glob_match("[a-c]x", "dx"));
  EXPECT_TRUE(glob_match("[*]", "*"));
  EXPECT_TRUE(glob_match("a[", "a["));  // no closing ']': a literal '['
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("model-*-of-*.safetensors", "model-00001-of-00002.safetensors"));
}

TEST(PullFiles, DefaultsAreConfigsTokenizersAndTheBestWeightFormat) {
  const std::vector<std::string> common = {".gitattributes",
                                           "README.md",
                                           "config.json",
                                           "preprocessor_config.json",
                                           "tokenizer.json",
                                           "tokenizer_config.json",
                                           "special_tokens_map.json",
                                           "vocab.json",
                                           "merges.txt",
                                           "spiece.model",
                                           "onnx/model.onnx",
                                           "1_Pooling/config.json",
                                           "flax_model.msgpack",
                                           "tf_model.h5"};
  const std::vector<std::string> configs = {"config.json",
                                            "preprocessor_config.json",
                                            "tokenizer.json",
                                            "tokenizer_config.json",
                                            "special_tokens_map.json",
                                            "vocab.json",
                                            "merges.txt",
                                            "spiece.model"};
  const auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> files = common;
    files.insert(files.end(), extra.begin(), extra.end());
    return files;
  };
  const auto plus = [&](std::vector<std::string> extra) {
    std::vector<std::string> files = configs;
    files.insert(files.end(), extra.begin(), extra.end());
    return files;
  };
  // A LAION-style repository with four copies of the weights: the transformers safetensors.
  EXPECT_EQ(default_model_files(with({"open_clip_pytorch_model.bin", "open_clip_model.safetensors",
                                      "pytorch_model.bin", "model.safetensors"}),
                                "r"),
            plus({"model.safetensors"}));
  // Sharded safetensors with their index, not the .bin shards.
  EXPECT_EQ(default_model_files(
                with({"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                      "model.safetensors.index.json", "pytorch_model.bin.index.json",
                      "pytorch_model-00001-of-00002.bin"}),
                "r"),
            plus({"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                  "model.safetensors.index.json"}));
  // Only an open_clip safetensors: that one.
  EXPECT_EQ(default_model_files(
                with({"open_clip_pytorch_model.bin", "open_clip_model.safetensors"}), "r"),
            plus({"open_clip_model.safetensors"}));
  EXPECT_EQ(default_model_files(with({"pytorch_model.bin", "open_clip_pytorch_model.bin"}), "r"),
            plus({"pytorch_model.bin"}));
  EXPECT_EQ(default_model_files(with({"open_clip_pytorch_model.bin"}), "r"),
            plus({"open_clip_pytorch_model.bin"}));
  // A PEFT adapter (ColPali): its config and weights, safetensors before .bin.
  EXPECT_EQ(default_model_files({"adapter_config.json", "adapter_model.bin",
                                 "adapter_model.safetensors", "tokenizer.model", "README.md"},
                                "r"),
            (std::vector<std::string>{"adapter_config.json", "adapter_model.safetensors",
                                      "tokenizer.model"}));
  expect_error([&] { default_model_files(common, "org/no-weights@main"); },
               {"org/no-weights@main: no weights in a format vlbench reads", "tf_model.h5",
                "choose files with --include GLOB"});
}

TEST(GitBlobSha1, EqualsGitHashObject) {
  TempDir dir;
  // `printf 'hello\n' | git hash-object --stdin` and the empty blob's well-known id.
  testing::write_text(dir / "hello", "hello\n");
  testing::write_text(dir / "empty", "");
  EXPECT_EQ(hub::git_blob_sha1_file(dir / "hello"), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(hub::git_blob_sha1_file(dir / "empty"), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  // The loopback hub's own implementation gives the same ids.
  EXPECT_EQ(testing::git_blob_sha1_of("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(testing::git_blob_sha1_of(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  // SHA-256 of "abc" (FIPS 180-2).
  EXPECT_EQ(testing::sha256_of("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PullProgress, ShowsBytesRateAndEtaOnlyWhenEnabled) {
  EXPECT_EQ(human_bytes(812), "812 B");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(1234), "1.23 kB");
  EXPECT_EQ(human_bytes(123456), "123 kB");
  EXPECT_EQ(human_bytes(27100000), "27.1 MB");
  EXPECT_EQ(human_bytes(3940000000), "3.94 GB");

  ::testing::internal::CaptureStderr();
  {
    Progress bar(true, "model.safetensors", 2000000);
    bar.start(500000);  // resumed: half a megabyte already in hand
    bar.update(1000000);
    bar.finish();
  }
  const std::string drawn = ::testing::internal::GetCapturedStderr();
  // Redrawn in place (\r ... erase to the end of the line), then ended with a newline.
  EXPECT_EQ(drawn.rfind("\rmodel.safetensors  50% [############............] 1.00 MB / 2.00 MB  ",
                        0),
            0u)
      << drawn;
  EXPECT_NE(drawn.find("/s  ETA 0:0"), std::string::npos) << drawn;
  EXPECT_EQ(drawn.substr(drawn.size() - 4), "\033[K\n") << drawn;

  ::testing::internal::CaptureStderr();
  {
    Progress quiet(false, "model.safetensors", 2000000);
    quiet.start(0);
    quiet.update(1000000);
    quiet.finish();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace vlbench
