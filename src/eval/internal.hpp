// Pieces shared by the eval .cpp files.
#pragma once

#include <vlbench/core/npy.hpp>
#include <vlbench/data/dataset.hpp>
#include <vlbench/eval/evaluate.hpp>

#include <cstdint>
#include <functional>

namespace vlbench {

class Gemm;
class ThreadPool;

// Ranks one direction's queries exactly (index/exact_rank) and summarizes them.
RetrievalMetrics run_retrieval(const RetrievalTask& task, const MatrixF32& query_side,
                               const MatrixF32& gallery_side, const Gemm& gemm, ThreadPool& pool,
                               const BootstrapOptions& bootstrap);

// Winoground on unit dense embeddings: the dot product.
WinogroundMetrics run_winoground(const Dataset& dataset, const MatrixF32& images,
                                 const MatrixF32& texts, ThreadPool& pool,
                                 const BootstrapOptions& bootstrap);
// Winoground: example e has images 2e, 2e+1 and captions 2e, 2e+1; score(caption, image) is
// the model's similarity of a caption row and an image row.
WinogroundMetrics run_winoground(const Dataset& dataset,
                                 const std::function<double(std::int64_t, std::int64_t)>& score,
                                 ThreadPool& pool, const BootstrapOptions& bootstrap);

}  // namespace vlbench
