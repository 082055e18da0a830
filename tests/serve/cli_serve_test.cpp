// `vlbench serve` as a process: prints the bound address, serves a saved index with the
// paths.txt beside it, and exits 0 on SIGTERM and on SIGINT.
#include "serve/serve_test_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <regex>
#include <string>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace vlbench::testing {
namespace {

using nlohmann::json;

// A child process whose stdout is a pipe we read lines from.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("posix_spawn failed");
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  std::string read_line() {
    char buffer[1024];
    return fgets(buffer, sizeof buffer, out_) ? std::string(buffer) : std::string();
  }
  // Sends `signal` and returns the exit status (-1 unless it exited normally).
  int signal_and_wait(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

TEST(CliServeTest, ServesAndStopsCleanlyOnSignals) {
  TempDir dir;
  const std::int64_t n = 40, d = 8;
  const std::vector<float> gallery = unit_rows(n, d, 31);
  save_index(*flat_index(gallery, d), dir / "idx", "test");
  std::string paths;
  for (std::int64_t i = 0; i < n; ++i) paths += "images/" + std::to_string(i) + ".png\n";
  write_text(dir / "idx" / "paths.txt", paths);

  for (const int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal);
    Child child({VLBENCH_BINARY, "serve", "--index", (dir / "idx").string(), "--port", "0",
                 "--threads", "2"});
    const std::string line = child.read_line();
    std::smatch match;
    ASSERT_TRUE(std::regex_search(line, match, std::regex("http://127\\.0\\.0\\.1:(\\d+) ")))
        << line;
    EXPECT_NE(line.find("index flat, 40 vectors of 8 dims"), std::string::npos) << line;
    httplib::Client cli("127.0.0.1", std::stoi(match[1]));
    auto res = cli.Post("/v1/search", embedding_body(gallery.data() + 5 * d, d, 3).dump(),
                        "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json body = json::parse(res->body);
    EXPECT_EQ(body.at("ids").get<std::vector<std::int64_t>>(),
              brute_force_top_k(gallery, d, gallery.data() + 5 * d, 3));
    EXPECT_EQ(body.at("paths").at(0), "images/5.png");
    EXPECT_EQ(child.signal_and_wait(signal), 0);
    EXPECT_EQ(child.read_line(), "vlbench serve: stopped\n");
  }
}

}  // namespace
}  // namespace vlbench::testing
