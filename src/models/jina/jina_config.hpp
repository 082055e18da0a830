// jina-clip-v1 (model_type "jina_clip", JinaCLIPModel of jinaai/jina-clip-implementation):
// its config.json and the name of every tensor. ../shared/fixtures/jina-clip-tiny/README.md
// has the forward pass. Internal to the models module.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace vlbench {

// The EVA02 vision tower (vision_config) in the one variant jina-clip-v1 uses: pre-LN blocks,
// q and v biases, 2-D RoPE, sub-LN in attention and MLP, a naive SwiGLU, no layer scale, CLS
// pooling, no head.
struct JinaVisionConfig {
  int width = 768;
  int layers = 12;
  int head_width = 64;
  int mlp_hidden = 3072;  // int(width · mlp_ratio), truncated as Python's int() does
  int image_size = 224;
  int patch_size = 16;
  bool rope = false;       // rope_embeddings
  int pt_hw_seq_len = 16;  // the rope grid's coordinate scale
  bool intp_freq = false;  // rope coordinates spread over the patch grid (true) or not

  int heads() const { return width / head_width; }
  int grid() const { return image_size / patch_size; }
  int tokens() const { return grid() * grid() + 1; }  // patches + CLS
};

// The JinaBERT text tower: text_config.hf_model_config_kwargs over JinaBERT's defaults (the
// published v1 config leaves them to the base model's own config).
struct JinaTextConfig {
  int vocab_size = 30528;
  int hidden_size = 768;
  int num_hidden_layers = 12;
  int num_attention_heads = 12;
  int intermediate_size = 3072;
  int type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int pad_token_id = 0;
  int max_position_embeddings = 8192;  // ALiBi has no table; the limit of the model card
};

struct JinaClipConfig {
  JinaVisionConfig vision;
  JinaTextConfig text;
};

// config: the parsed config.json at `path` (model_type "jina_clip"). Variants other than
// jina-clip-v1's (projections, a vision head, post-norm, layer scale, another MLP, a pooler
// other than the mean) are Errors naming the field; so are sizes that do not fit together.
JinaClipConfig parse_jina_clip_config(const nlohmann::json& config, const std::string& path);

// Every tensor of the checkpoint, by role: the one place the published names live. A `{i}`
// in a name is the block / layer index.
struct JinaTensorName {
  std::string_view role;
  std::string_view name;
};
inline constexpr JinaTensorName kJinaTensorNames[] = {
    {"logit_scale", "logit_scale"},
    // Vision (eva_model.py module names).
    {"v.cls", "vision_model.cls_token"},
    {"v.pos", "vision_model.pos_embed"},
    {"v.patch.w", "vision_model.patch_embed.proj.weight"},
    {"v.patch.b", "vision_model.patch_embed.proj.bias"},
    {"v.norm1.w", "vision_model.blocks.{i}.norm1.weight"},
    {"v.norm1.b", "vision_model.blocks.{i}.norm1.bias"},
    {"v.q.w", "vision_model.blocks.{i}.attn.q_proj.weight"},
    {"v.k.w", "vision_model.blocks.{i}.attn.k_proj.weight"},
    {"v.v.w", "vision_model.blocks.{i}.attn.v_proj.weight"},
    {"v.q.b", "vision_model.blocks.{i}.attn.q_bias"},
    {"v.v.b", "vision_model.blocks.{i}.attn.v_bias"},
    {"v.attn_ln.w", "vision_model.blocks.{i}.attn.inner_attn_ln.weight"},
    {"v.attn_ln.b", "vision_model.blocks.{i}.attn.inner_attn_ln.bias"},
    {"v.proj.w", "vision_model.blocks.{i}.attn.proj.weight"},
    {"v.proj.b", "vision_model.blocks.{i}.attn.proj.bias"},
    {"v.norm2.w", "vision_model.blocks.{i}.norm2.weight"},
    {"v.norm2.b", "vision_model.blocks.{i}.norm2.bias"},
    {"v.w1.w", "vision_model.blocks.{i}.mlp.w1.weight"},
    {"v.w1.b", "vision_model.blocks.{i}.mlp.w1.bias"},
    {"v.w2.w", "vision_model.blocks.{i}.mlp.w2.weight"},
    {"v.w2.b", "vision_model.blocks.{i}.mlp.w2.bias"},
    {"v.ffn_ln.w", "vision_model.blocks.{i}.mlp.ffn_ln.weight"},
    {"v.ffn_ln.b", "vision_model.blocks.{i}.mlp.ffn_ln.bias"},
    {"v.w3.w", "vision_model.blocks.{i}.mlp.w3.weight"},
    {"v.w3.b", "vision_model.blocks.{i}.mlp.w3.bias"},
    {"v.norm.w", "vision_model.norm.weight"},
    {"v.norm.b", "vision_model.norm.bias"},
    // Text (the flash-attention JinaBERT's module names, inferred: see the fixture README).
    {"t.word", "text_model.transformer.embeddings.word_embeddings.weight"},
    {"t.type", "text_model.transformer.embeddings.token_type_embeddings.weight"},
    {"t.emb_ln.w", "text_model.transformer.emb_ln.weight"},
    {"t.emb_ln.b", "text_model.transformer.emb_ln.bias"},
    {"t.qkv.w", "text_model.transformer.encoder.layers.{i}.mixer.Wqkv.weight"},
    {"t.qkv.b", "text_model.transformer.encoder.layers.{i}.mixer.Wqkv.bias"},
    {"t.out.w", "text_model.transformer.encoder.layers.{i}.mixer.out_proj.weight"},
    {"t.out.b", "text_model.transformer.encoder.layers.{i}.mixer.out_proj.bias"},
    {"t.norm1.w", "text_model.transformer.encoder.layers.{i}.norm1.weight"},
    {"t.norm1.b", "text_model.transformer.encoder.layers.{i}.norm1.bias"},
    {"t.gated.w", "text_model.transformer.encoder.layers.{i}.mlp.gated_layers.weight"},
    {"t.wo.w", "text_model.transformer.encoder.layers.{i}.mlp.wo.weight"},
    {"t.wo.b", "text_model.transformer.encoder.layers.{i}.mlp.wo.bias"},
    {"t.norm2.w", "text_model.transformer.encoder.layers.{i}.norm2.weight"},
    {"t.norm2.b", "text_model.transformer.encoder.layers.{i}.norm2.bias"},
};

// The name of `role` (of block / layer `index` where the name has `{i}`).
std::string jina_tensor_name(std::string_view role, int index = -1);

// Every tensor name a checkpoint of `config` holds, in table order.
std::vector<std::string> jina_tensor_names(const JinaClipConfig& config);

// ALiBi slopes of n heads (Press et al., as JinaBERT's get_alibi_slopes): 2^(-8(i+1)/n) for
// n a power of two; otherwise those of m = the largest power of two below n, then
// 2^(-8(2j+1)/(2m)) for j < n − m.
std::vector<float> alibi_slopes(int n_heads);

}  // namespace vlbench
