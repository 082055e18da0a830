// The SigLIP vision transformer up to its last hidden state: the patch embedding (a Conv2d with
// kernel = stride = patch, run as a Linear over im2col rows), learned position embeddings, the
// pre-LN encoder and post_layernorm. SiglipModel puts its MAP head on top; PaliGemma (ColPali)
// its projector, with vision_use_head false. Internal to the models module.
#pragma once

#include <vlbench/kernels/backend.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "models/encoder.hpp"
#include "models/siglip/siglip_model.hpp"

namespace vlbench {

struct SiglipVisionGeometry {
  int image_size = 224;
  int patch_size = 16;
  int num_channels = 3;

  std::int64_t grid() const { return image_size / patch_size; }
  std::int64_t n_patches() const { return grid() * grid(); }
  std::int64_t patch_values() const {
    return std::int64_t{num_channels} * patch_size * patch_size;
  }
  std::int64_t image_values() const {
    return std::int64_t{num_channels} * image_size * image_size;
  }
};

// Scratch of SiglipVisionTower::run, grown on demand and reused.
struct SiglipVisionWorkspace {
  EncoderWorkspace encoder;
  DeviceBuffer input;  // im2col rows [n·patches, C·p·p]
  std::vector<float> host;
};

class SiglipVisionTower {
 public:
  SiglipVisionTower() = default;
  // Tensors `prefix`embeddings.patch_embedding.{weight,bias}, embeddings.position_embedding.weight,
  // encoder.layers.N.*, post_layernorm.{weight,bias} (prefix "vision_model." in SiglipModel,
  // "model.vision_tower.vision_model." in PaliGemma), shapes checked by `load`.
  static SiglipVisionTower load(const LoadTensor& load, const std::string& prefix,
                                const SiglipTowerConfig& tower,
                                const SiglipVisionGeometry& geometry, Backend& backend,
                                ComputeType compute);

  const SiglipVisionGeometry& geometry() const { return geometry_; }
  std::int64_t width() const { return encoder_.d_model; }
  const EncoderWeights& encoder() const { return encoder_; }

  // pixels (host): n × C × S × S. hidden (backend memory, resized): [n·n_patches, width], the
  // last hidden state with post_layernorm applied to every token.
  void run(Backend& backend, const float* pixels, std::int64_t n, DeviceBuffer& hidden,
           SiglipVisionWorkspace& ws) const;

  // Forward FLOPs of one image (the patch embedding and the encoder).
  double flops() const;

 private:
  SiglipVisionGeometry geometry_;
  EncoderWeights encoder_;
  std::unique_ptr<BackendLinear> patch_embedding_;  // [d, C·p·p] over im2col rows, with bias
  DeviceBuffer positions_;                          // [n_patches, d]
  DeviceBuffer post_ln_weight_, post_ln_bias_;      // [d]
};

}  // namespace vlbench
