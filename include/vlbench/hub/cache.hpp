// Model references and the local Hugging Face cache.
//
// Wherever vlbench takes a model (`--model`, `--rerank-model`, `--base`, an adapter's
// base_model_name_or_path), the value is a checkpoint directory or a Hub reference
// ORG/NAME[@REVISION], resolved in the cache exactly as huggingface_hub lays it out, so models
// fetched by Python tools (transformers, open_clip, `huggingface-cli download`) and by
// `vlbench pull` (pull.hpp) are found by both:
//
//   <cache>/models--ORG--NAME/
//     refs/REVISION            the commit SHA (40 hex) a branch or tag points to
//     blobs/ETAG               file contents, named by their ETag: the SHA-256 of an LFS file,
//                              the git blob SHA-1 of the others
//     blobs/ETAG.incomplete    a download in progress (resumed from its size)
//     snapshots/COMMIT/PATH    relative symlinks into ../../blobs/ETAG (one ../ more per
//                              subfolder of PATH)
//   <cache>/.locks/models--ORG--NAME/ETAG.lock   held while a blob is downloaded
//
// <cache> is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (its former name), else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (huggingface_hub's
// constants.py order).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vlbench {

// Where the Hub and its cache are, from the environment (hub_settings_from_environment), or
// set by a caller (tests, embedders).
struct HubSettings {
  std::filesystem::path cache_dir;
  // How cache_dir was chosen, for messages: "$HF_HUB_CACHE", "$HF_HOME/hub", ...
  std::string cache_dir_origin;
  std::string endpoint = "https://huggingface.co";  // $HF_ENDPOINT, no trailing '/'
  // $HF_TOKEN (else $HUGGING_FACE_HUB_TOKEN, else the file `huggingface-cli login` writes:
  // $HF_TOKEN_PATH, else $HF_HOME/token), sent as "Authorization: Bearer TOKEN" to the
  // endpoint only (never to a CDN on another host). Empty: none.
  std::string token;
  // $HF_HUB_OFFLINE is 1 / ON / YES / TRUE (any case): nothing may reach the network.
  bool offline = false;
};

HubSettings hub_settings_from_environment();

// ORG/NAME[@REVISION]. repo_id is "ORG/NAME"; revision is a branch, a tag or a 40-hex commit
// ("main" when not given).
struct HubReference {
  std::string repo_id;
  std::string revision = "main";

  std::string to_string() const;  // "ORG/NAME" or "ORG/NAME@REVISION" (main left out)
  // The folder of the repository in the cache: "models--ORG--NAME".
  std::string folder_name() const;
};

// Whether `text` has the shape of a reference (one '/', no leading '/' or '.', an optional
// '@'), valid or not: such a value that is not an existing path is read as a reference.
bool looks_like_hub_reference(std::string_view text);
// Parses ORG/NAME[@REVISION]: ORG and NAME of letters, digits, '-', '_' and '.', starting and
// ending with a letter or digit, no "--" or "..", at most 96 characters together; REVISION
// non-empty, without whitespace, '\\', ".." or a leading or trailing '/' (a branch may hold
// '/': "refs/pr/1"). Anything else is an Error saying what is wrong.
HubReference parse_hub_reference(std::string_view text);

// True for a full commit SHA (40 lower-case hex digits).
bool is_commit_hash(std::string_view revision);

// A model as given and the checkpoint folder it names.
struct ModelSource {
  std::string given;          // the option value as the user wrote it
  std::filesystem::path dir;  // the checkpoint folder to load (a snapshot for a reference)
  // Set for a Hub reference: the repository, the revision asked for and the commit it
  // resolved to (recorded in results documents).
  std::optional<HubReference> hub;
  std::string commit;

  // A short name for output folders and tables: NAME (NAME@REVISION for a revision other than
  // main) for a reference, the folder's name for a directory.
  std::string display_name() const;
};

// Resolves a model option value. An existing path is a directory (as `from_pretrained`
// prefers a local folder); otherwise a value of the reference shape is looked up in the
// cache: refs/REVISION -> snapshots/COMMIT (a 40-hex revision names the snapshot directly),
// which must hold config.json, open_clip_config.json or adapter_config.json, every symlink of
// it resolving. Errors
// (one line each): bad reference syntax; not cached, naming every path searched and the
// exact `vlbench pull ...` command that fetches it; a damaged snapshot (a symlink whose blob
// is missing), naming the file. A value of neither shape that does not exist is an Error
// saying it is neither a folder nor a reference. `option` ("--model") starts the messages.
ModelSource resolve_model_reference(std::string_view given, const HubSettings& settings,
                                    std::string_view option = "--model");
// The same with hub_settings_from_environment().
ModelSource resolve_model_reference(std::string_view given, std::string_view option = "--model");

// "ORG/NAME" when `dir` is a snapshot folder of a cache (…/models--ORG--NAME/snapshots/COMMIT),
// else empty: a name for a model whose folder name is a commit SHA.
std::string hub_repo_id_of_snapshot(const std::filesystem::path& dir);

// <cache>/models--ORG--NAME, and its snapshots/COMMIT folder.
std::filesystem::path hub_repo_dir(const HubSettings& settings, const HubReference& reference);
std::filesystem::path hub_snapshot_dir(const HubSettings& settings, const HubReference& reference,
                                       std::string_view commit);

}  // namespace vlbench
