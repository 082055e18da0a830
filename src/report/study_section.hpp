// The study report's building blocks, internal to src/report: a report is a list of sections of
// plain tables, rendered as HTML and as Markdown from the same cells (study_render.cpp).
#pragma once

#include <vlbench/report/decision.hpp>
#include <vlbench/report/results.hpp>
#include <vlbench/report/study.hpp>

#include <string>
#include <vector>

namespace vlbench::report_detail {

struct Cell {
  std::string text;
  bool best = false;  // the best value of its column within its comparison group
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
};

struct Section {
  std::string id;       // HTML anchor
  std::string heading;  // "Accuracy"
  std::vector<std::string> paragraphs;
  struct Block {
    std::string caption;  // a "####" heading in Markdown, a <caption> in HTML
    Table table;
    std::string svg;      // HTML only (the table beside it carries the numbers)
  };
  std::vector<Block> blocks;
};

// The documents the speed figures are read from: one per model × compute type × machine, the
// one with the most images (the largest gallery of the run: the steadiest figure).
std::vector<const LoadedResults*> speed_documents(const std::vector<LoadedResults>& results);

// "<model name> (<dtype>)" and "<cpu>, <n> logical cores" of a results document.
std::string model_label(const LoadedResults& r);
std::string machine_label(const LoadedResults& r);

// "42 s", "3.2 min", "5.1 h", "2.3 days" for a duration in seconds; "–" when not finite.
std::string duration(double seconds);

// The decision table by gallery size (decision_render.cpp).
Section decision_section(const std::vector<LoadedResults>& results,
                         const std::vector<IndexBenchFile>& index_bench);

}  // namespace vlbench::report_detail
