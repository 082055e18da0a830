// vlbench serve: the HTTP search server (serve/server.hpp) over a saved index, until SIGINT or
// SIGTERM.
#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/index/maxsim.hpp>
#include <vlbench/index/vector_index.hpp>
#include <vlbench/serve/server.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace vlbench::cli {

namespace {

struct ServeArgs {
  std::string index_dir, model, paths, rerank_model, base;
  bool no_verify = false;
  std::vector<std::string> params;
  std::string rerank_tokens, rerank_lengths;
  std::string rerank_token_storage = "f32";
  std::int64_t rerank_depth = 100;
  ServeOptions options;
};

// The write end of the pipe the signal handler wakes the stopping thread with (a write is
// async-signal-safe; SearchServer::stop() is not).
int g_stop_pipe_write = -1;

extern "C" void on_stop_signal(int) {
  const char byte = 1;
  const ssize_t ignored = write(g_stop_pipe_write, &byte, 1);
  (void)ignored;
}

void serve_until_signal(SearchServer& server) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) fail("serve: cannot create a pipe (errno {})", errno);
  g_stop_pipe_write = fds[1];
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction old_int = {}, old_term = {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::thread stopper([&server, read_fd = fds[0]] {
    char byte = 0;
    while (read(read_fd, &byte, 1) < 0 && errno == EINTR) {
    }
    server.stop();
  });
  server.run();
  on_stop_signal(0);  // run() may also end without a signal: release the stopper
  stopper.join();

  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_stop_pipe_write = -1;
  close(fds[0]);
  close(fds[1]);
}

// Every connection is a file descriptor: raise the soft limit to the hard one (often 1024 ->
// 1048576), and keep --max-connections below what is left for the index, model and logs.
void fit_connections_to_descriptors(ServeOptions& options) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  constexpr rlim_t kReserved = 64;
  if (limit.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(options.max_connections) + kReserved > limit.rlim_cur) {
    const auto fitted = static_cast<int>(limit.rlim_cur > kReserved + 1 ? limit.rlim_cur - kReserved : 1);
    std::fprintf(stderr,
                 "vlbench serve: --max-connections %d lowered to %d (open-file limit %llu)\n",
                 options.max_connections, fitted, static_cast<unsigned long long>(limit.rlim_cur));
    options.max_connections = fitted;
  }
}

void run_serve(ServeArgs& args) {
  if (args.rerank_tokens.empty() && args.rerank_token_storage != "f32") {
    fail("--rerank-token-storage {}: needs --rerank-image-tokens and --rerank-image-lengths",
         args.rerank_token_storage);
  }
  // The models first: a reference not in the cache fails before the index is read.
  const ModelSource model = resolve_model_option(args.model, "--model");
  const ModelSource rerank_model = resolve_model_option(args.rerank_model, "--rerank-model");
  const ModelSource base = resolve_model_option(args.base, "--base");
  LoadedIndex loaded = load_index(args.index_dir, !args.no_verify);
  for (const std::string& param : args.params) {
    const auto eq = param.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail("--param {}: expected NAME=VALUE", param);
    }
    loaded.index->set_search_param(param.substr(0, eq), param.substr(eq + 1));
  }
  std::shared_ptr<const VectorIndex> index = std::move(loaded.index);

  ServeOptions& options = args.options;
  options.model_dir = model.dir;
  options.rerank_model_dir = rerank_model.dir;
  options.model_base = base.dir;
  const std::filesystem::path default_paths = std::filesystem::path(args.index_dir) / "paths.txt";
  if (!args.paths.empty()) {
    options.paths = read_gallery_paths(args.paths, index->size());
  } else if (std::filesystem::exists(default_paths)) {
    options.paths = read_gallery_paths(default_paths, index->size());
  }
  if (args.rerank_tokens.empty() != args.rerank_lengths.empty()) {
    fail("--rerank-image-tokens and --rerank-image-lengths go together");
  }
  if (!args.rerank_tokens.empty()) {
    const MultiVectorSet tokens =
        load_multi_vectors(args.rerank_tokens, args.rerank_lengths, "image tokens");
    try {
      options.rerank_docs = std::make_shared<const TokenStore>(
          store_tokens(tokens, parse_token_storage(args.rerank_token_storage)));
    } catch (const Error& e) {
      fail("--rerank-image-tokens {} as {}: {}", args.rerank_tokens, args.rerank_token_storage,
           e.what());
    }
    std::printf("vlbench serve: %lld page tokens of %lld dims kept as %s: %.1f MB\n",
                static_cast<long long>(options.rerank_docs->total_tokens()),
                static_cast<long long>(options.rerank_docs->d), args.rerank_token_storage.c_str(),
                static_cast<double>(options.rerank_docs->payload_bytes()) / 1e6);
    options.rerank_depth = args.rerank_depth;
  }

  fit_connections_to_descriptors(options);
  SearchServer server(index, options);
  const int port = server.bind();
  std::printf(
      "vlbench serve: listening on http://%s:%d (index %s, %lld vectors of %lld dims%s%s)\n",
      options.host.c_str(), port, index->type().c_str(), static_cast<long long>(index->size()),
      static_cast<long long>(index->dim()),
      options.model_dir.empty() ? "" : ", text and image queries",
      options.rerank_docs ? ", MaxSim re-ranking" : "");
  std::fflush(stdout);
  serve_until_signal(server);
  std::printf("vlbench serve: stopped\n");
}

}  // namespace

void add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* sub = app.add_subcommand(
      "serve", "HTTP/1.1 JSON search over a saved index: POST /v1/search, /v1/embeddings, GET "
      "/healthz, /metrics");
  sub->add_option("--index", args->index_dir, "index directory (vlbench index build --out)")
      ->required();
  sub->add_flag("--no-verify", args->no_verify,
                "skip the SHA-256 check of the index payload files (a trusted multi-GB index)");
  sub->add_option("--model", args->model,
                  "model (any family) for text and image queries, its embedding dim the index "
                  "dim: " + std::string(kModelHelp));
  sub->add_option("--paths", args->paths,
                  "image path of each gallery row, one per line (default: DIR/paths.txt if "
                  "present)");
  sub->add_option("--param", args->params,
                  "search-time index parameter NAME=VALUE (efSearch, "
                  "nprobe); repeatable");
  sub->add_option("--rerank-image-tokens", args->rerank_tokens,
                  "TOKENS.npy [n, t_max, d] of the gallery for MaxSim re-ranking");
  sub->add_option("--rerank-image-lengths", args->rerank_lengths, "LENGTHS.npy int32 [n]");
  sub->add_option("--rerank-token-storage", args->rerank_token_storage,
                  "how the page tokens are held for MaxSim: f32, bf16 (half the memory), int8 "
                  "(~1/4), binary (1/32); scores as `run --token-quantize` measures them")
      ->check(CLI::IsMember({"f32", "bf16", "int8", "binary"}))
      ->capture_default_str();
  sub->add_option("--rerank-model", args->rerank_model,
                  "multi-vector model (ColPali) that encodes each text query into query tokens "
                  "for MaxSim re-ranking against --rerank-image-tokens (needs --model)");
  add_base_option(sub, args->base);
  sub->add_option("--rerank-depth", args->rerank_depth, "dense candidates re-scored per query")
      ->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--host", args->options.host, "address to listen on")->capture_default_str();
  sub->add_option("--port", args->options.port, "port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  sub->add_option("--threads", args->options.threads, "worker threads = requests handled at once")
      ->check(between(1, 1024))
      ->capture_default_str();
  sub->add_option("--queue", args->options.queue,
                  "complete requests waiting for a worker; when full, new ones get 503 with "
                  "Retry-After")
      ->check(between(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--max-connections", args->options.max_connections,
                  "open connections at most; more get 503 and are closed")
      ->check(between(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--header-timeout", args->options.header_timeout_s,
                  "seconds for a request's line and headers to arrive (also ends idle "
                  "keep-alive connections)")
      ->check(between(0.001, 86400))
      ->capture_default_str();
  sub->add_option("--body-timeout", args->options.body_timeout_s,
                  "seconds for a request body to arrive after its headers")
      ->check(between(0.001, 86400))
      ->capture_default_str();
  sub->add_option("--drain-timeout", args->options.drain_timeout_s,
                  "on SIGTERM/SIGINT: seconds to finish requests in progress before exiting")
      ->check(between(0.001, 86400))
      ->capture_default_str();
  sub->add_option("--max-body-bytes", args->options.max_body_bytes, "larger request bodies get 413")
      ->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--max-k", args->options.max_k, "largest k a request may ask for")
      ->check(at_least(1))
      ->capture_default_str();
  add_max_image_pixels_option(sub, args->options.max_image_pixels);
  add_exif_orientation_option(sub, args->options.exif_orientation);
  sub->add_option("--model-threads", args->options.model_threads,
                  "threads of the query encoder (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  sub->callback([args] { run_serve(*args); });
}

}  // namespace vlbench::cli
