// The HTML report in a real browser: the quickstart run's report.html rendered by headless
// Chromium (Debian's `chromium`, installed by scripts/install-deps.sh). The screenshot must not
// be blank (kept as build/test-artifacts/report.png), and the DOM Chromium builds must hold
// every section, every model, every table cell of report.md and every R@K interval of the
// results documents.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <set>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
const auto& q = testing::shell_quote;

// Runs a shell command; its exit status, stdout (and stderr) into *output.
int run_shell(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
  const int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Headless, no sandbox (CI runs as root), no GPU, nothing in the background reaching for the
// network, a fresh profile; bounded by `timeout` so a hung browser fails the test.
std::string chromium_command(const fs::path& profile) {
  return "timeout 120 chromium --headless --no-sandbox --disable-gpu "
         "--disable-background-networking --disable-component-update --disable-default-apps "
         "--disable-extensions --disable-sync --no-first-run --no-default-browser-check "
         "--metrics-recording-only --mute-audio --disable-dev-shm-usage --user-data-dir=" +
         q(profile);
}

std::string percent_interval(const json& metric) {
  return fmt::format("{:.1f} [{:.1f}, {:.1f}]", 100 * metric["value"].get<double>(),
                     100 * metric["ci95"][0].get<double>(), 100 * metric["ci95"][1].get<double>());
}

TEST(ReportBrowser, QuickstartReportRendersInChromium) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  // The page is the Release build's (where this test runs) byte for byte, the vlbench runs it
  // needs are sanitized by the Run and IndexBenchCli tests, and Chromium is not instrumented:
  // here it would only spend a minute of CI.
  GTEST_SKIP() << "not in the sanitizer build (Chromium renders the same page in Release)";
#endif
#endif
  if (run_shell("command -v chromium >/dev/null 2>&1", nullptr) != 0) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
  testing::TempDir dir;
  std::string output;
  // The quickstart's own index benchmark, smaller, for the decision table's search rows.
  ASSERT_EQ(testing::run_cli("index bench --synthetic 2000,16,8 --synthetic-queries 50 "
                             "--latency-queries 20 --reps 1 --out " +
                                 q(dir / "ib"),
                             &output),
            0)
      << output;
  ASSERT_EQ(testing::run_cli("run --bootstrap 100 --index-bench " +
                                 q(dir / "ib" / "index_bench.json") + " --out " + q(dir / "run"),
                             &output),
            0)
      << output;
  const fs::path report = dir / "run" / "report.html";
  ASSERT_TRUE(fs::exists(report));
  const std::string url = "file://" + fs::absolute(report).string();

  // The screenshot: decoded, it must hold more than a blank page does.
  const fs::path png = dir / "report.png";
  ASSERT_EQ(run_shell(chromium_command(dir / "profile") + " --window-size=1280,2400 --screenshot=" +
                          q(png) + " " + q(url) + " 2>&1",
                      &output),
            0)
      << output;
  const ImageRgb8 image = decode_image(png);
  EXPECT_EQ(image.width, 1280);
  EXPECT_EQ(image.height, 2400);
  std::int64_t dark = 0;
  std::set<std::uint32_t> colours;
  for (std::size_t i = 0; i + 2 < image.rgb.size(); i += 3) {
    const int r = image.rgb[i], g = image.rgb[i + 1], b = image.rgb[i + 2];
    if (r + g + b < 3 * 160) ++dark;
    if (colours.size() < 1000) colours.insert((r << 16) | (g << 8) | b);
  }
  const double dark_fraction = static_cast<double>(dark) / (image.width * image.height);
  EXPECT_GT(dark_fraction, 0.01) << "the page looks blank";  // text, rules, chart lines
  EXPECT_LT(dark_fraction, 0.5) << "the page looks black";
  EXPECT_GT(colours.size(), 50u);  // anti-aliased text, the palette, the highlighted cells
  const fs::path artifacts = fs::path(VLBENCH_TEST_ARTIFACTS);
  fs::create_directories(artifacts);
  fs::copy_file(png, artifacts / "report.png", fs::copy_options::overwrite_existing);

  // The DOM after parsing: sections, models, every Markdown cell, every R@K of the documents.
  std::string dom;
  ASSERT_EQ(run_shell(chromium_command(dir / "profile2") + " --dump-dom " + q(url) + " 2>/dev/null",
                      &dom),
            0);
  ASSERT_NE(dom.find("</html>"), std::string::npos) << dom.substr(0, 500);
  for (const char* id :
       {"summary", "accuracy", "ranks", "speed", "winoground", "pareto", "significance",
        "decision", "provenance"}) {
    EXPECT_NE(dom.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  for (const char* model : {"clip-tiny (fp32)", "clip-small (fp32)"}) {
    EXPECT_NE(dom.find(model), std::string::npos) << model;
  }
  const std::string md = read_file(dir / "run" / "report.md");
  std::size_t cells = 0;
  for (std::size_t start = 0; start < md.size();) {
    std::size_t end = md.find('\n', start);
    if (end == std::string::npos) end = md.size();
    const std::string line = md.substr(start, end - start);
    start = end + 1;
    if (line.rfind("| ", 0) != 0 || line.rfind("| --- ", 0) == 0) continue;
    for (std::size_t i = 2; i < line.size();) {
      const std::size_t bar = line.find(" |", i);
      if (bar == std::string::npos) break;
      std::string cell = line.substr(i, bar - i);
      if (cell.size() >= 4 && cell.rfind("**", 0) == 0) cell = cell.substr(2, cell.size() - 4);
      // Markup-free cells only (the DOM escapes < > & in text).
      if (cell.find_first_of("<>&\\") == std::string::npos) {
        EXPECT_NE(dom.find(">" + cell + "<"), std::string::npos) << "cell '" << cell << "'";
        ++cells;
      }
      i = bar + 3;
    }
  }
  EXPECT_GT(cells, 300u);
  std::size_t metrics = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "run")) {
    if (entry.path().extension() != ".json" || entry.path().parent_path().filename() == "models") {
      continue;
    }
    const json doc = json::parse(read_file(entry.path()));
    if (!doc.contains("metrics")) continue;
    const json& m = doc["metrics"];
    for (const char* direction : {"t2i", "i2t"}) {
      if (!m.contains(direction)) continue;
      for (const char* k : {"r1", "r5", "r10"}) {
        EXPECT_NE(dom.find(percent_interval(m[direction][k])), std::string::npos)
            << entry.path() << " " << direction << " " << k;
        ++metrics;
      }
    }
    if (m.contains("winoground")) {
      for (const char* k : {"text", "image", "group"}) {
        EXPECT_NE(dom.find(percent_interval(m["winoground"][k])), std::string::npos) << k;
        ++metrics;
      }
    }
  }
  EXPECT_EQ(metrics, 2u * (3 * 6 + 3));  // two models: 3 retrieval datasets, Winoground
}

}  // namespace
}  // namespace vlbench
