// `vlbench pull`: a model repository from the Hugging Face Hub into the local cache, in the
// layout of cache.hpp, so Python tools and vlbench see the same files.
//
//   1. GET {endpoint}/api/models/ORG/NAME/revision/REVISION: the commit SHA ("sha") and the
//      repository's files ("siblings"[].rfilename).
//   2. The files to fetch: `include` globs, else default_model_files().
//   3. Per file, HEAD {endpoint}/ORG/NAME/resolve/COMMIT/PATH without following a redirect
//      that carries the file's ETag (an LFS file's redirect to its CDN), following others (a
//      renamed repository): the ETag (X-Linked-Etag before ETag, quotes and W/ removed), the
//      size (X-Linked-Size before Content-Length) and where to download it.
//   4. A blob already in blobs/ETAG is linked again, not downloaded. Otherwise the file is
//      downloaded into blobs/ETAG.incomplete (a partial one resumed with `Range: bytes=N-`),
//      under the lock .locks/models--ORG--NAME/ETAG.lock (flock, as huggingface_hub's
//      filelock), its size and content checked — SHA-256 for a 64-hex ETag (LFS), the git blob
//      SHA-1 for a 40-hex one — then renamed to blobs/ETAG: a blob appears whole and verified
//      or not at all, and a checksum mismatch deletes the download.
//   5. snapshots/COMMIT/PATH -> relative symlink to the blob; refs/REVISION = COMMIT (when the
//      revision is a branch or tag) once every file is placed.
//
// Errors (vlbench::Error, one line): offline mode; the endpoint unreachable; 401 (private or
// gated repository: HF_TOKEN), 404 (repository, revision or file not found), other HTTP
// statuses; an interrupted transfer (the .incomplete file is kept and the next pull resumes
// it); a checksum or size mismatch naming the file, the expected and the received value;
// a file or ETag from the server that would leave the cache folder; a write failure naming the
// file and the system's reason.
#pragma once

#include <vlbench/hub/cache.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vlbench {

struct PullOptions {
  // Globs (glob_match) over the repository's file paths; a file is fetched when any matches.
  // Empty: default_model_files().
  std::vector<std::string> include;
  // A transfer cut in the middle is resumed from what arrived up to this many times within
  // one pull before the pull fails (the next pull resumes it then).
  int retries = 2;
  // Seconds without a single byte received before a transfer is given up.
  int stall_timeout_s = 60;
  // A progress bar (bytes, bytes/s, ETA) on stderr; the CLI turns it on for a terminal.
  bool progress = false;
  // Called once per file placed or found already cached (for the CLI's listing).
  std::function<void(const std::string& line)> on_file;
};

struct PulledFile {
  std::string path;  // in the repository ("config.json", "sub/x.json")
  std::string etag;  // the blob's name
  std::int64_t bytes = 0;
  bool downloaded = false;  // false: the blob was already in the cache
  std::string verified;     // "sha256", "git-sha1", or "" (the ETag is not a content hash)
};

struct PullResult {
  HubReference reference;
  std::string commit;
  std::filesystem::path snapshot;  // the folder `--model ORG/NAME[@REVISION]` now resolves to
  std::vector<PulledFile> files;
};

// Fetches `reference` (ORG/NAME[@REVISION]) into settings.cache_dir. Errors as above.
PullResult pull_model(std::string_view reference, const HubSettings& settings,
                      const PullOptions& options = {});

// The files a model needs, out of a repository's file list (in the list's order): at the top
// level only,
//   configuration, tokenizer and preprocessor files: config.json, open_clip_config.json,
//     preprocessor_config.json, adapter_config.json, tokenizer*.json, special_tokens_map.json,
//     added_tokens.json, vocab.*, merges.txt, *.model (SentencePiece);
//   the weights in one format, the first of these the repository has:
//     1. model.safetensors, or a sharded model.safetensors.index.json + model-*.safetensors;
//     2. any other *.safetensors (+ *.safetensors.index.json);
//     3. pytorch_model.bin, or pytorch_model.bin.index.json + pytorch_model-*.bin;
//     4. open_clip_pytorch_model.bin;
//   and a PEFT adapter's weights: adapter_model.safetensors, else adapter_model.bin.
// A list with no weights in any of these formats is an Error that names the repository's
// files and says to choose with --include.
std::vector<std::string> default_model_files(const std::vector<std::string>& repo_files,
                                             std::string_view repo_label);

// Python's fnmatch.fnmatchcase, as huggingface_hub matches allow_patterns: '*' any run of
// characters ('/' included), '?' one character, '[abc]' / '[a-z]' / '[!a]' one of a class
// ('[*]' a literal '*'; no escape character). pull_model also reads a pattern ending in '/'
// as that folder's files ("onnx/" = "onnx/*").
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace vlbench
