// vlbench index build | search: build a vector index (vector_index.hpp) from a gallery .npy
// and save it; load a saved index and search it with a query .npy, writing RESULTS.json.
#include "cli/commands.hpp"
#include "cli/list_file.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/index/vector_index.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vlbench::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// "NAME=VALUE" flags into a map; a missing '=', an empty name or a repeated name is an Error.
IndexParams parse_params(const std::vector<std::string>& flags) {
  IndexParams params;
  for (const std::string& flag : flags) {
    const auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail("--param '{}': expected NAME=VALUE (e.g. efSearch=128)", flag);
    }
    const std::string name = flag.substr(0, eq);
    if (!params.emplace(name, flag.substr(eq + 1)).second) {
      fail("--param '{}': parameter {} given twice", flag, name);
    }
  }
  return params;
}

// "M=16, efConstruction=200" ("none" when empty).
std::string params_text(const IndexParams& params) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : params) parts.push_back(name + "=" + value);
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ", "));
}

struct BuildArgs {
  std::string embeddings;
  std::string type;
  std::vector<std::string> params;
  std::string out;
};

void run_build(const BuildArgs& args) {
  const IndexParams params = parse_params(args.params);
  const MatrixF32 gallery = load_unit_embeddings(args.embeddings, "gallery embeddings");
  const std::string gallery_sha256 = sha256_file(args.embeddings);
  std::unique_ptr<VectorIndex> index = make_index(args.type, gallery.cols, params);
  const Clock::time_point start = Clock::now();
  index->add(gallery.rows, gallery.values.data());
  const double build_seconds = seconds_since(start);
  save_index(*index, args.out, gallery_sha256);
  const double bytes = static_cast<double>(index->memory_bytes());
  std::printf("built %s index of %lld x %lld vectors in %.3f s (params: %s)\n",
              index->type().c_str(), static_cast<long long>(gallery.rows),
              static_cast<long long>(gallery.cols), build_seconds,
              params_text(index->params()).c_str());
  std::printf("index memory: %.2f MiB (%.1f bytes per vector); saved to %s\n", bytes / (1 << 20),
              gallery.rows > 0 ? bytes / gallery.rows : 0.0, args.out.c_str());
}

struct SearchArgs {
  std::string index;
  std::string queries;
  std::int64_t k = 10;
  std::vector<std::string> params;
  int threads = 0;
  std::string out;
  bool no_verify = false;
};

void run_search(const SearchArgs& args) {
  refuse_overwriting_inputs(args.out, {args.queries});
  const IndexParams overrides = parse_params(args.params);
  LoadedIndex loaded = load_index(args.index, !args.no_verify);
  VectorIndex& index = *loaded.index;
  for (const auto& [name, value] : overrides) index.set_search_param(name, value);
  const MatrixF32 queries = load_unit_embeddings(args.queries, "queries");
  if (queries.cols != index.dim()) {
    fail("{}: query dimension {} does not match the index dimension {} ({})", args.queries,
         queries.cols, index.dim(), args.index);
  }
  const Clock::time_point start = Clock::now();
  const SearchResult result =
      index.search(queries.rows, queries.values.data(), args.k, args.threads);
  const double search_seconds = seconds_since(start);

  nlohmann::json ids = nlohmann::json::array();
  nlohmann::json scores = nlohmann::json::array();
  for (std::int64_t q = 0; q < result.n; ++q) {
    nlohmann::json id_row = nlohmann::json::array();
    nlohmann::json score_row = nlohmann::json::array();
    for (std::int64_t i = 0; i < result.k; ++i) {
      const std::size_t at = static_cast<std::size_t>(q * result.k + i);
      id_row.push_back(result.ids[at]);
      // A missing result (id -1) has score -infinity, which JSON cannot hold: null.
      if (std::isfinite(result.scores[at])) {
        score_row.push_back(result.scores[at]);
      } else {
        score_row.push_back(nullptr);
      }
    }
    ids.push_back(std::move(id_row));
    scores.push_back(std::move(score_row));
  }
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : index.params()) params[name] = value;
  const nlohmann::json doc = {{"index", args.index},
                              {"type", index.type()},
                              {"params", params},
                              {"dim", index.dim()},
                              {"gallery_size", index.size()},
                              {"gallery_sha256", loaded.gallery_sha256},
                              {"queries", args.queries},
                              {"n_queries", result.n},
                              {"k", result.k},
                              {"search_seconds", search_seconds},
                              {"ids", std::move(ids)},
                              {"scores", std::move(scores)}};
  write_file_atomic(args.out, doc.dump() + "\n");
  std::printf(
      "searched %lld queries (k = %lld) in a %s index of %lld vectors in %.3f s "
      "(%.0f queries/s); wrote %s\n",
      static_cast<long long>(result.n), static_cast<long long>(result.k), index.type().c_str(),
      static_cast<long long>(index.size()), search_seconds,
      search_seconds > 0 ? static_cast<double>(result.n) / search_seconds : 0.0, args.out.c_str());
}

}  // namespace

void add_index(CLI::App& app) {
  CLI::App* index = app.add_subcommand("index", "Build, search and benchmark vector indexes");
  index->require_subcommand(1);
  add_index_bench(*index);

  auto build = std::make_shared<BuildArgs>();
  CLI::App* build_cmd = index->add_subcommand(
      "build", "Build an index over a gallery of embeddings (rows scaled to unit length)");
  build_cmd->add_option("--embeddings", build->embeddings, "gallery embeddings .npy [n, d]")
      ->required();
  build_cmd
      ->add_option("--type", build->type,
                   fmt::format("index type: {}", fmt::join(index_types(), ", ")))
      ->required();
  build_cmd->add_option("--param", build->params,
                        "NAME=VALUE index parameter (repeatable), e.g. M=32, nlist=1024");
  build_cmd->add_option("--out", build->out, "index folder to write")->required();
  build_cmd->callback([build] { run_build(*build); });

  auto search = std::make_shared<SearchArgs>();
  CLI::App* search_cmd = index->add_subcommand(
      "search", "Search a saved index with query embeddings and write RESULTS.json");
  search_cmd->add_option("--index", search->index, "index folder (vlbench index build)")
      ->required();
  search_cmd->add_option("--queries", search->queries, "query embeddings .npy [n, d]")->required();
  search_cmd->add_option("--k", search->k, "results per query")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  search_cmd->add_option("--param", search->params,
                         "NAME=VALUE search-time parameter (efSearch, nprobe; repeatable)");
  search_cmd->add_option("--threads", search->threads, "search threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  search_cmd->add_flag("--no-verify", search->no_verify,
                       "skip the SHA-256 check of the payload files (a trusted multi-GB index)");
  search_cmd->add_option("--out", search->out, "RESULTS.json to write")->required();
  search_cmd->callback([search] { run_search(*search); });
}

}  // namespace vlbench::cli
