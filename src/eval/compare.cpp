#include <vlbench/core/error.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/eval/compare.hpp>
#include <vlbench/eval/evaluate.hpp>

namespace vlbench {

namespace {

template <typename T>
void check_pair(const std::vector<T>& a, const std::vector<T>& b, const char* what) {
  if (a.size() != b.size()) {
    fail("cannot compare {}: A has {} per-query values, B has {} (expected the same queries)", what,
         a.size(), b.size());
  }
}

void compare_ranks(const std::string& direction, const std::vector<std::int32_t>& a,
                   const std::vector<std::int32_t>& b, const BootstrapOptions& options,
                   ThreadPool& pool, std::vector<MetricComparison>& out) {
  const auto column = [](const std::vector<std::int32_t>& ranks, auto f) {
    std::vector<double> values(ranks.size());
    for (std::size_t i = 0; i < ranks.size(); ++i) values[i] = f(ranks[i]);
    return values;
  };
  const struct {
    const char* name;
    double (*value)(std::int32_t);
    Statistic statistic;
  } metrics[] = {
      {"r1", [](std::int32_t r) { return r <= 1 ? 1.0 : 0.0; }, Statistic::mean},
      {"r5", [](std::int32_t r) { return r <= 5 ? 1.0 : 0.0; }, Statistic::mean},
      {"r10", [](std::int32_t r) { return r <= 10 ? 1.0 : 0.0; }, Statistic::mean},
      {"mrr", [](std::int32_t r) { return 1.0 / r; }, Statistic::mean},
      {"median_rank", [](std::int32_t r) { return static_cast<double>(r); }, Statistic::median},
  };
  for (const auto& m : metrics) {
    out.push_back(
        {direction + "." + m.name,
         paired_bootstrap(column(a, m.value), column(b, m.value), m.statistic, options, pool)});
  }
}

}  // namespace

PerQuery per_query_of(const EvalResult& r) {
  PerQuery p;
  if (r.t2i) p.t2i_rank = r.t2i->ranks;
  if (r.i2t) p.i2t_rank = r.i2t->ranks;
  if (r.winoground) p.winoground_outcome = r.winoground->outcome;
  return p;
}

std::vector<MetricComparison> compare_per_query(const PerQuery& a, const PerQuery& b,
                                                const BootstrapOptions& options, int threads) {
  check_pair(a.t2i_rank, b.t2i_rank, "t2i ranks");
  check_pair(a.i2t_rank, b.i2t_rank, "i2t ranks");
  check_pair(a.winoground_outcome, b.winoground_outcome, "Winoground outcomes");
  if (a.t2i_rank.empty() && a.i2t_rank.empty() && a.winoground_outcome.empty()) {
    fail("cannot compare: the results hold no per-query values");
  }
  ThreadPool pool(threads);
  std::vector<MetricComparison> out;
  if (!a.t2i_rank.empty()) compare_ranks("t2i", a.t2i_rank, b.t2i_rank, options, pool, out);
  if (!a.i2t_rank.empty()) compare_ranks("i2t", a.i2t_rank, b.i2t_rank, options, pool, out);
  if (!a.winoground_outcome.empty()) {
    const struct {
      const char* name;
      std::uint8_t bit;
    } scores[] = {
        {"text", kWinogroundText}, {"image", kWinogroundImage}, {"group", kWinogroundGroup}};
    for (const auto& s : scores) {
      std::vector<double> va, vb;
      for (std::uint8_t o : a.winoground_outcome) va.push_back((o & s.bit) ? 1.0 : 0.0);
      for (std::uint8_t o : b.winoground_outcome) vb.push_back((o & s.bit) ? 1.0 : 0.0);
      out.push_back({std::string("winoground.") + s.name,
                     paired_bootstrap(va, vb, Statistic::mean, options, pool)});
    }
  }
  return out;
}

}  // namespace vlbench
