// `vlbench pull` (pull_model) against the loopback hub of hub_test_server.hpp: the cache layout
// it writes (checked by hand: symlink targets, blob names, refs), what a second pull and
// another revision fetch again, LFS redirects (relative, and absolute to another host without
// the token), a transfer cut in the middle and resumed with Range, a body that does not match
// its ETag, 401 / 404 / offline errors, unsafe names from the server, and a failing disk.
#include "cli/hub_test_server.hpp"
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/hub/cache.hpp>
#include <vlbench/hub/pull.hpp>

#include <gtest/gtest.h>

#include <csignal>

#include <sys/resource.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::HubFile;
using testing::HubRepo;
using testing::LoopbackHub;
using testing::TempDir;

const std::string kC0 = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const std::string kC1 = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
const std::size_t kWeightBytes = 150000;

// Every file under `dir` whose name ends with `suffix`.
std::vector<fs::path> files_ending(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      found.push_back(it->path());
    }
  }
  return found;
}

class HubPull : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = testing::pseudo_random_bytes(kWeightBytes, 1);
    HubRepo repo;
    repo.commits[kC1] = {{".gitattributes", "*.safetensors filter=lfs\n"},
                         {"README.md", "# tiny\n"},
                         {"config.json", "{\"model_type\": \"clip\", \"v\": 1}"},
                         {"model.safetensors", weights_, true},
                         {"pytorch_model.bin", testing::pseudo_random_bytes(5000, 2), true},
                         {"tokenizer.json", "{\"model\": {}}"},
                         {"tokenizer_config.json", "{}"},
                         {"preprocessor_config.json", "{\"crop_size\": 30}"},
                         {"onnx/model.onnx", testing::pseudo_random_bytes(3000, 3), true},
                         {"sub/extra.json", "[1, 2]"}};
    repo.commits[kC0] = {{"config.json", "{\"model_type\": \"clip\", \"v\": 0}"},
                         {"model.safetensors", weights_, true},
                         {"tokenizer.json", "{\"model\": {}}"}};
    repo.refs = {{"main", kC1}, {"v1.0", kC0}};
    hub_.add_repo("test-org/tiny", repo);
    settings_.cache_dir = dir_ / "cache";
    settings_.cache_dir_origin = "$HF_HUB_CACHE";
    settings_.endpoint = hub_.endpoint();
  }

  fs::path repo_dir() const { return settings_.cache_dir / "models--test-org--tiny"; }
  std::string weights_sha() const { return testing::sha256_of(weights_); }

  LoopbackHub hub_;
  TempDir dir_;
  HubSettings settings_;
  std::string weights_;
};

TEST_F(HubPull, PlacesTheDefaultFilesInTheHubCacheLayout) {
  const PullResult result = pull_model("test-org/tiny", settings_);
  EXPECT_EQ(result.commit, kC1);
  EXPECT_EQ(result.snapshot, repo_dir() / "snapshots" / kC1);
  std::vector<std::string> paths;
  for (const PulledFile& f : result.files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json",
                                             "tokenizer_config.json", "preprocessor_config.json"}));
  // refs/main holds the bare commit, as huggingface_hub writes it.
  EXPECT_EQ(read_file(repo_dir() / "refs" / "main"), kC1);
  // Each file: a relative symlink to blobs/ETAG, the LFS file's blob named by its SHA-256
  // (X-Linked-Etag, not the pointer's ETag), the others by their git blob id.
  for (const PulledFile& f : result.files) {
    const fs::path pointer = result.snapshot / f.path;
    ASSERT_TRUE(fs::is_symlink(pointer)) << pointer;
    EXPECT_TRUE(f.downloaded);
    if (f.path == "model.safetensors") {
      EXPECT_EQ(f.etag, weights_sha());
      EXPECT_EQ(f.verified, "sha256");
      EXPECT_EQ(read_file(pointer), weights_);
    } else {
      EXPECT_EQ(f.etag, testing::git_blob_sha1_of(read_file(pointer)));
      EXPECT_EQ(f.verified, "git-sha1");
    }
    EXPECT_EQ(fs::read_symlink(pointer).string(), "../../blobs/" + f.etag);
    EXPECT_TRUE(fs::is_regular_file(repo_dir() / "blobs" / f.etag));
    EXPECT_TRUE(
        fs::exists(settings_.cache_dir / ".locks" / "models--test-org--tiny" / (f.etag + ".lock")));
  }
  EXPECT_EQ(read_file(result.snapshot / "config.json"), "{\"model_type\": \"clip\", \"v\": 1}");
  EXPECT_FALSE(fs::exists(result.snapshot / "README.md"));
  EXPECT_FALSE(fs::exists(result.snapshot / "pytorch_model.bin"));
  EXPECT_TRUE(files_ending(settings_.cache_dir, ".incomplete").empty());
  // The weights came from the relative CDN redirect, in one GET.
  const auto cdn = hub_.requests_to("/cdn/");
  ASSERT_EQ(cdn.size(), 1u);
  EXPECT_EQ(cdn[0].method, "GET");
  EXPECT_EQ(cdn[0].path, "/cdn/" + weights_sha());
  EXPECT_EQ(cdn[0].range, "");

  // What --model test-org/tiny now resolves to.
  const ModelSource source = resolve_model_reference("test-org/tiny", settings_);
  EXPECT_EQ(source.dir, result.snapshot);
  EXPECT_EQ(source.commit, kC1);
}

TEST_F(HubPull, ASecondPullFetchesNothingAndRevisionsShareBlobs) {
  pull_model("test-org/tiny", settings_);
  hub_.clear_log();
  const PullResult again = pull_model("test-org/tiny", settings_);
  ASSERT_EQ(hub_.log().size(), 1u);  // the model info alone
  EXPECT_EQ(hub_.log()[0].path, "/api/models/test-org/tiny/revision/main");
  for (const PulledFile& f : again.files) EXPECT_FALSE(f.downloaded) << f.path;

  // The tag: a new config.json is downloaded; the weights and tokenizer blobs are linked.
  hub_.clear_log();
  const PullResult tag = pull_model("test-org/tiny@v1.0", settings_);
  EXPECT_EQ(tag.commit, kC0);
  std::vector<std::string> downloaded;
  for (const PulledFile& f : tag.files) {
    if (f.downloaded) downloaded.push_back(f.path);
  }
  EXPECT_EQ(downloaded, std::vector<std::string>{"config.json"});
  std::size_t gets = 0;
  for (const auto& r : hub_.log()) gets += r.method == "GET" ? 1 : 0;
  EXPECT_EQ(gets, 2u);  // the model info and config.json
  EXPECT_TRUE(hub_.requests_to("/cdn/").empty());
  EXPECT_EQ(read_file(repo_dir() / "refs" / "v1.0"), kC0);
  EXPECT_EQ(read_file(repo_dir() / "refs" / "main"), kC1);
  EXPECT_EQ(read_file(tag.snapshot / "config.json"), "{\"model_type\": \"clip\", \"v\": 0}");
  EXPECT_EQ(fs::canonical(tag.snapshot / "model.safetensors"),
            fs::canonical(repo_dir() / "snapshots" / kC1 / "model.safetensors"));

  // A commit revision writes no ref.
  pull_model("test-org/tiny@" + kC0, settings_);
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / kC0));
}

TEST_F(HubPull, IncludeGlobsReplaceTheDefaultsAndSubfoldersLinkDeeper) {
  PullOptions options;
  options.include = {"sub/", "*.onnx"};
  const PullResult result = pull_model("test-org/tiny", settings_, options);
  ASSERT_EQ(result.files.size(), 2u);
  EXPECT_EQ(result.files[0].path, "onnx/model.onnx");
  EXPECT_EQ(result.files[1].path, "sub/extra.json");
  EXPECT_EQ(fs::read_symlink(result.snapshot / "sub" / "extra.json").string(),
            "../../../blobs/" + testing::git_blob_sha1_of("[1, 2]"));
  EXPECT_EQ(read_file(result.snapshot / "sub" / "extra.json"), "[1, 2]");
  EXPECT_FALSE(fs::exists(result.snapshot / "config.json"));
  // Without a config the snapshot is not a model yet.
  expect_error([&] { resolve_model_reference("test-org/tiny", settings_); }, {"only partly"});

  options.include = {"*.gguf"};
  expect_error([&] { pull_model("test-org/tiny", settings_, options); },
               {"--include *.gguf matches none of its 10 files", "README.md"});
}

TEST_F(HubPull, AnInterruptedTransferIsResumedByTheNextPull) {
  hub_.cut_next_download(weights_sha(), 40000);
  PullOptions options;
  options.retries = 0;
  const fs::path incomplete = repo_dir() / "blobs" / (weights_sha() + ".incomplete");
  expect_error([&] { pull_model("test-org/tiny", settings_, options); },
               {"the transfer of model.safetensors stopped after 40000 of 150000 bytes",
                incomplete.string(), "run the same vlbench pull again to resume it"});
  EXPECT_EQ(fs::file_size(incomplete), 40000u);
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / weights_sha()));
  EXPECT_FALSE(
      fs::exists(fs::symlink_status(repo_dir() / "snapshots" / kC1 / "model.safetensors")));
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / "main"));  // written once every file is placed

  hub_.clear_log();
  const PullResult result = pull_model("test-org/tiny", settings_, options);
  const auto cdn = hub_.requests_to("/cdn/");
  ASSERT_EQ(cdn.size(), 1u);
  EXPECT_EQ(cdn[0].range, "bytes=40000-");
  EXPECT_EQ(testing::sha256_of(read_file(result.snapshot / "model.safetensors")), weights_sha());
  EXPECT_FALSE(fs::exists(incomplete));
  EXPECT_EQ(read_file(repo_dir() / "refs" / "main"), kC1);
}

TEST_F(HubPull, AnInterruptedTransferIsResumedWithinOnePull) {
  hub_.cut_next_download(weights_sha(), 70001);
  const PullResult result = pull_model("test-org/tiny", settings_);  // retries: 2
  const auto cdn = hub_.requests_to("/cdn/");
  ASSERT_EQ(cdn.size(), 2u);
  EXPECT_EQ(cdn[0].range, "");
  EXPECT_EQ(cdn[1].range, "bytes=70001-");
  EXPECT_EQ(read_file(result.snapshot / "model.safetensors"), weights_);
}

TEST_F(HubPull, AWrongChecksumFailsAndPlacesNothing) {
  hub_.corrupt(weights_sha());
  std::string corrupted = weights_;
  corrupted[corrupted.size() / 2] = static_cast<char>(corrupted[corrupted.size() / 2] ^ 0x5a);
  expect_error([&] { pull_model("test-org/tiny", settings_); },
               {"model.safetensors: checksum mismatch: expected sha256 " + weights_sha(),
                "got " + testing::sha256_of(corrupted), "nothing placed"});
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / weights_sha()));
  EXPECT_TRUE(files_ending(settings_.cache_dir, ".incomplete").empty());
  EXPECT_FALSE(
      fs::exists(fs::symlink_status(repo_dir() / "snapshots" / kC1 / "model.safetensors")));
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / "main"));
}

TEST_F(HubPull, APrivateRepositoryNeedsItsTokenWhichNeverReachesAnotherHost) {
  HubRepo repo;
  repo.commits[kC1] = {{"config.json", "{}"}, {"model.safetensors", weights_, true}};
  repo.refs = {{"main", kC1}};
  repo.token = "hf_secret";
  repo.redirect_host = "localhost";  // an absolute redirect to another host name
  hub_.add_repo("test-org/private", repo);
  expect_error([&] { pull_model("test-org/private", settings_); },
               {"vlbench pull test-org/private: HTTP 401 Unauthorized",
                "set HF_TOKEN to an access token", "Invalid credentials"});
  settings_.token = "hf_wrong";
  expect_error([&] { pull_model("test-org/private", settings_); },
               {"the token in HF_TOKEN has no access to test-org/private"});
  EXPECT_FALSE(fs::exists(settings_.cache_dir / "models--test-org--private"));

  settings_.token = "hf_secret";
  hub_.clear_log();
  const PullResult result = pull_model("test-org/private", settings_);
  EXPECT_EQ(read_file(result.snapshot / "model.safetensors"), weights_);
  for (const auto& r : hub_.log()) {
    if (r.path.rfind("/cdn/", 0) == 0) {
      EXPECT_EQ(r.authorization, "") << "the token went to the CDN host";
    } else {
      EXPECT_EQ(r.authorization, "Bearer hf_secret") << r.path;
    }
  }
  EXPECT_EQ(hub_.requests_to("/cdn/").size(), 1u);
}

TEST_F(HubPull, NotFoundErrorsNameTheRepositoryRevisionOrFile) {
  expect_error([&] { pull_model("test-org/nope", settings_); },
               {"HTTP 404: repository test-org/nope or its revision 'main' not found at " +
                hub_.endpoint()});
  EXPECT_FALSE(fs::exists(settings_.cache_dir / "models--test-org--nope"));
  expect_error(
      [&] { pull_model("test-org/tiny@no-branch", settings_); },
      {"HTTP 404: revision 'no-branch' not found in test-org/tiny", "Invalid rev id: no-branch"});
  HubRepo repo;
  repo.commits[kC1] = {{"config.json", "{}"}, {"model.safetensors", weights_, true, true}};
  repo.refs = {{"main", kC1}};
  hub_.add_repo("test-org/ghost", repo);
  expect_error([&] { pull_model("test-org/ghost", settings_); },
               {"HTTP 404: file model.safetensors not found in test-org/ghost at commit " + kC1});
  expect_error([&] { pull_model("test-org/na me", settings_); }, {"NAME 'na me' holds ' '"});
}

TEST_F(HubPull, OfflineModeReachesNothing) {
  settings_.offline = true;
  expect_error([&] { pull_model("test-org/tiny", settings_); },
               {"offline mode (HF_HUB_OFFLINE is set)", "--model test-org/tiny"});
  EXPECT_TRUE(hub_.log().empty());
  EXPECT_FALSE(fs::exists(settings_.cache_dir));
}

TEST_F(HubPull, AnUnreachableEndpointSaysWhich) {
  settings_.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  expect_error([&] { pull_model("test-org/tiny", settings_); },
               {"cannot reach the Hub at http://127.0.0.1:1", "HF_ENDPOINT"});
}

TEST_F(HubPull, ARenamedRepositoryIsFollowed) {
  HubRepo moved;
  moved.renamed_to = "test-org/tiny";
  hub_.add_repo("old-org/tiny", moved);
  const PullResult result = pull_model("old-org/tiny", settings_);
  EXPECT_EQ(result.commit, kC1);
  // Stored under the id asked for, as huggingface_hub stores it.
  EXPECT_EQ(result.snapshot, settings_.cache_dir / "models--old-org--tiny" / "snapshots" / kC1);
  EXPECT_EQ(read_file(result.snapshot / "model.safetensors"), weights_);
}

TEST_F(HubPull, NamesThatWouldLeaveTheCacheAreRefused) {
  HubRepo repo;
  repo.commits[kC1] = {{"config.json", "{}"}, {"../../escape.json", "{}"}};
  repo.refs = {{"main", kC1}};
  hub_.add_repo("test-org/evil", repo);
  PullOptions options;
  options.include = {"*"};
  expect_error([&] { pull_model("test-org/evil", settings_, options); },
               {"a file '../../escape.json' whose path would leave the snapshot folder"});
  EXPECT_FALSE(fs::exists(settings_.cache_dir / "models--test-org--evil"));
  EXPECT_FALSE(fs::exists(settings_.cache_dir / "escape.json"));
}

TEST_F(HubPull, AWriteFailureNamesTheFileAndTheReason) {
  // A file size limit (with SIGXFSZ ignored, write() fails with EFBIG): a full disk without
  // needing one.
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limit = old_limit;
  limit.rlim_cur = 50000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    pull_model("test-org/tiny", settings_);
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find("cannot write " +
                         (repo_dir() / "blobs" / (weights_sha() + ".incomplete")).string() +
                         ": File too large"),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / weights_sha()));
  // With room again, the next pull resumes from what was written.
  hub_.clear_log();
  const PullResult result = pull_model("test-org/tiny", settings_);
  ASSERT_EQ(hub_.requests_to("/cdn/").size(), 1u);
  EXPECT_EQ(hub_.requests_to("/cdn/")[0].range, "bytes=50000-");
  EXPECT_EQ(read_file(result.snapshot / "model.safetensors"), weights_);
}

}  // namespace
}  // namespace vlbench
