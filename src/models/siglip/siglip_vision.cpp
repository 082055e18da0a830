// The SigLIP vision transformer without a head. See siglip_vision.hpp.
#include "models/siglip/siglip_vision.hpp"

#include "models/family.hpp"
#include "models/patches.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {

SiglipVisionTower SiglipVisionTower::load(const LoadTensor& load, const std::string& prefix,
                                          const SiglipTowerConfig& tower,
                                          const SiglipVisionGeometry& geometry, Backend& backend,
                                          ComputeType compute) {
  SiglipVisionTower t;
  t.geometry_ = geometry;
  const std::int64_t d = tower.hidden_size;
  t.encoder_.d_model = d;
  t.encoder_.intermediate = tower.intermediate_size;
  t.encoder_.n_heads = tower.num_attention_heads;
  t.encoder_.layer_norm_eps = static_cast<float>(tower.layer_norm_eps);
  t.encoder_.activation = parse_activation(tower.hidden_act);
  t.patch_embedding_ = backend.make_linear(
      load(prefix + "embeddings.patch_embedding.weight",
           {d, geometry.num_channels, geometry.patch_size, geometry.patch_size}),
      d, geometry.patch_values(), load(prefix + "embeddings.patch_embedding.bias", {d}), compute);
  t.positions_ = upload_f32(
      backend, load(prefix + "embeddings.position_embedding.weight", {geometry.n_patches(), d}));
  load_encoder_layers(load, prefix + "encoder.layers.", tower.num_hidden_layers, backend, compute,
                      t.encoder_);
  t.post_ln_weight_ = upload_f32(backend, load(prefix + "post_layernorm.weight", {d}));
  t.post_ln_bias_ = upload_f32(backend, load(prefix + "post_layernorm.bias", {d}));
  return t;
}

void SiglipVisionTower::run(Backend& backend, const float* pixels, std::int64_t n,
                            DeviceBuffer& hidden, SiglipVisionWorkspace& ws) const {
  const std::int64_t d = encoder_.d_model;
  const std::int64_t tokens = geometry_.n_patches();
  const std::int64_t k = geometry_.patch_values();
  const std::int64_t rows = n * tokens;
  VLB_ASSERT(n > 0);
  // -> host [n·tokens, k], then the patch embedding -> hidden [n·tokens, d]
  ws.host.resize(static_cast<std::size_t>(rows * k));
  im2col_patches(pixels, n, geometry_.num_channels, geometry_.image_size, geometry_.patch_size,
                 tokens, /*first_slot=*/0, ws.host.data());
  ws.input.reserve_f32(backend, rows * k);
  backend.upload(ws.input.f32(), ws.host.data(), ws.host.size() * sizeof(float));
  hidden.reserve_f32(backend, rows * d);
  backend.linear(*patch_embedding_, ws.input.f32(), rows, hidden.f32());
  backend.add_repeated(hidden.f32(), positions_.f32(), rows * d, tokens * d);  // + positions
  run_encoder(encoder_, backend, hidden.f32(), n, tokens, /*causal=*/false, ws.encoder);
  backend.layer_norm(hidden.f32(), rows, d, post_ln_weight_.f32(), post_ln_bias_.f32(),
                     encoder_.layer_norm_eps, hidden.f32());  // post_layernorm, every token
}

double SiglipVisionTower::flops() const {
  const auto tokens = static_cast<double>(geometry_.n_patches());
  const auto d = static_cast<double>(encoder_.d_model);
  return 2.0 * tokens * d * static_cast<double>(geometry_.patch_values()) +
         static_cast<double>(encoder_.layers.size()) *
             encoder_layer_flops(d, static_cast<double>(encoder_.intermediate), tokens);
}

}  // namespace vlbench
