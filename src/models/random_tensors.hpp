// Seeded random tensors for make-model checkpoints. Internal to the models module.
#pragma once

#include <vlbench/core/random.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/models/checkpoint.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vlbench {

// The float tensors of a checkpoint, filled with seeded random values.
class TensorSet {
 public:
  TensorSet(std::uint64_t seed, ThreadPool& pool) : seed_(seed), pool_(pool) {}

  // Normal(mean, std) values; each tensor has its own stream (seed, index), each block of
  // 4096 values its own sub-stream, so filling in parallel gives the same bytes.
  void add(const std::string& name, std::vector<std::int64_t> shape, double mean, double std) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    auto& values = storage_[name];
    values.resize(static_cast<std::size_t>(n));
    const std::uint64_t tensor_seed = SplitMix64::for_item(seed_, order_.size()).next();
    constexpr std::int64_t kBlock = 4096;
    pool_.parallel_for((n + kBlock - 1) / kBlock, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t b = begin; b < end; ++b) {
        SplitMix64 rng = SplitMix64::for_item(tensor_seed, static_cast<std::uint64_t>(b));
        for (std::int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
          values[static_cast<std::size_t>(i)] = static_cast<float>(mean + std * rng.normal());
        }
      }
    });
    order_.push_back({name, DType::f32, std::move(shape), values.data()});
  }

  void add_positions(const std::string& name, std::int64_t n) {
    auto& ids = ids_[name];
    for (std::int64_t i = 0; i < n; ++i) ids.push_back(i);
    order_.push_back({name, DType::i64, {1, n}, ids.data()});
  }

  void add_linear(const std::string& prefix, int out, int in, bool bias) {
    add(prefix + ".weight", {out, in}, 0.0, 1.0 / std::sqrt(static_cast<double>(in)));
    if (bias) add(prefix + ".bias", {out}, 0.0, 0.02);
  }

  void add_layer_norm(const std::string& prefix, int d) {
    add(prefix + ".weight", {d}, 1.0, 0.05);
    add(prefix + ".bias", {d}, 0.0, 0.05);
  }

  // Hugging Face's pre-LN encoder layers (CLIP, SigLIP): `prefix`.encoder.layers.{i}.
  void add_encoder(const std::string& prefix, int layers, int hidden, int intermediate) {
    for (int i = 0; i < layers; ++i) {
      const std::string layer = prefix + ".encoder.layers." + std::to_string(i);
      for (const char* proj : {"k_proj", "v_proj", "q_proj", "out_proj"}) {
        add_linear(layer + ".self_attn." + proj, hidden, hidden, true);
      }
      add_layer_norm(layer + ".layer_norm1", hidden);
      add_linear(layer + ".mlp.fc1", intermediate, hidden, true);
      add_linear(layer + ".mlp.fc2", hidden, intermediate, true);
      add_layer_norm(layer + ".layer_norm2", hidden);
    }
  }

  const std::vector<TensorToWrite>& tensors() const { return order_; }

 private:
  std::uint64_t seed_;
  ThreadPool& pool_;
  std::map<std::string, std::vector<float>> storage_;
  std::map<std::string, std::vector<std::int64_t>> ids_;
  std::vector<TensorToWrite> order_;
};

}  // namespace vlbench
