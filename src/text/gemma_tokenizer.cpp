#include "vlbench/text/gemma_tokenizer.hpp"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "text/json_file.hpp"
#include "text/utf8.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace fs = std::filesystem;

struct GemmaTokenizer::Impl {
  std::string model_path;
  sentencepiece::SentencePieceProcessor processor;
  std::vector<std::pair<std::string, std::int32_t>> specials;  // split out of the text
  std::optional<std::int32_t> bos, eos;                        // added when configured

  // Appends the ids of `text` (no special pieces in it) to `ids`.
  void sentencepiece(std::string_view text, std::vector<std::int32_t>& ids) const {
    if (text.empty()) return;
    std::vector<int> pieces;
    const auto status = processor.Encode(text, &pieces);
    if (!status.ok()) fail("{}: SentencePiece failed: {}", model_path, status.ToString());
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }
};

GemmaTokenizer::GemmaTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GemmaTokenizer::GemmaTokenizer(GemmaTokenizer&&) noexcept = default;
GemmaTokenizer& GemmaTokenizer::operator=(GemmaTokenizer&&) noexcept = default;
GemmaTokenizer::~GemmaTokenizer() = default;

GemmaTokenizer GemmaTokenizer::from_directory(const fs::path& dir) {
  auto impl = std::make_unique<Impl>();
  const fs::path model_path = dir / "tokenizer.model";
  impl->model_path = model_path.string();
  if (!fs::is_regular_file(model_path)) {
    fail("{}: no such file (a Gemma tokenizer keeps its SentencePiece model there)",
         impl->model_path);
  }
  if (const auto status = impl->processor.LoadFromSerializedProto(text::read_text_file(model_path));
      !status.ok()) {
    fail("{}: not a SentencePiece model that libsentencepiece can load ({})", impl->model_path,
         status.ToString());
  }
  for (int id = 0; id < impl->processor.GetPieceSize(); ++id) {
    // User-defined pieces (Gemma's <start_of_turn>, ...) SentencePiece matches itself.
    if (impl->processor.IsControl(id) || impl->processor.IsUnknown(id)) {
      impl->specials.emplace_back(impl->processor.IdToPiece(id), id);
    }
  }

  bool add_bos = true, add_eos = false;  // GemmaTokenizer's defaults
  const fs::path config_path = dir / "tokenizer_config.json";
  if (fs::exists(config_path)) {
    const nlohmann::json doc =
        text::parse_json_text(text::read_text_file(config_path), config_path);
    const std::string config_file = config_path.string();  // JsonNode keeps a pointer to it
    const text::JsonNode config(doc, config_file);
    config.expect_object();
    add_bos = config.get_bool("add_bos_token", add_bos);
    add_eos = config.get_bool("add_eos_token", add_eos);
    // Added tokens (PaliGemma's <image>, beyond the SentencePiece vocabulary) are split out of
    // the text like the control pieces, as transformers' added-token trie does.
    if (const auto added = config.find("added_tokens_decoder")) {
      added->expect_object();
      for (const auto& [key, value] : added->value().items()) {
        const text::JsonNode token = added->at(key);
        token.expect_object();
        std::int32_t id = -1;
        const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
        if (ec != std::errc{} || end != key.data() + key.size() || id < 0) {
          added->fail("key '{}' is not a token id", key);
        }
        for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
          if (token.get_bool(flag, false)) {
            token.fail("'{}' true is not supported (vlbench matches added tokens as they are)",
                       flag);
          }
        }
        const std::string content = token.at("content").as_string();
        if (content.empty()) token.fail("'content' is empty");
        // Ids of the SentencePiece vocabulary are its own pieces, matched by the rules above.
        if (id < impl->processor.GetPieceSize()) continue;
        const bool known = std::any_of(impl->specials.begin(), impl->specials.end(),
                                       [&](const auto& s) { return s.first == content; });
        if (!known) impl->specials.emplace_back(content, id);
      }
    }
  }
  // Longest first, so the first match at a position is the longest one.
  std::stable_sort(impl->specials.begin(), impl->specials.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  auto special_id = [&](const char* piece, const char* key) {
    const int id = impl->processor.PieceToId(piece);
    if (impl->processor.IdToPiece(id) != piece) {
      fail("{}: {} is set but the model has no '{}' piece", config_path.string(), key, piece);
    }
    return static_cast<std::int32_t>(id);
  };
  if (add_bos) impl->bos = special_id("<bos>", "add_bos_token");
  if (add_eos) impl->eos = special_id("<eos>", "add_eos_token");
  return GemmaTokenizer(std::move(impl));
}

std::vector<std::int32_t> GemmaTokenizer::encode(std::string_view text, int max_length,
                                                 bool add_special_tokens) const {
  if (max_length < 0) fail("max_length must be >= 0, got {}", max_length);
  text::decode_utf8(text, "text");  // invalid UTF-8 is an Error, not SentencePiece's business
  std::vector<std::int32_t> ids;
  std::size_t plain = 0;  // start of the text not yet encoded
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto match =
        std::find_if(impl_->specials.begin(), impl_->specials.end(),
                     [&](const auto& s) { return text.substr(pos).starts_with(s.first); });
    if (match == impl_->specials.end()) {
      ++pos;
      continue;
    }
    impl_->sentencepiece(text.substr(plain, pos - plain), ids);
    ids.push_back(match->second);
    pos += match->first.size();
    plain = pos;
  }
  impl_->sentencepiece(text.substr(plain), ids);

  const bool bos = add_special_tokens && impl_->bos, eos = add_special_tokens && impl_->eos;
  const std::size_t added = (bos ? 1 : 0) + (eos ? 1 : 0);
  if (max_length > 0) {
    if (static_cast<std::size_t>(max_length) < added) {
      fail("max_length {} is below the {} special ids the tokenizer adds", max_length, added);
    }
    if (ids.size() + added > static_cast<std::size_t>(max_length)) {
      ids.resize(static_cast<std::size_t>(max_length) - added);
    }
  }
  if (bos) ids.insert(ids.begin(), *impl_->bos);
  if (eos) ids.push_back(*impl_->eos);
  return ids;
}

std::optional<std::int32_t> GemmaTokenizer::piece_to_id(std::string_view piece) const {
  const int id = impl_->processor.PieceToId(piece);
  if (impl_->processor.IdToPiece(id) != piece) return std::nullopt;
  return id;
}

std::int64_t GemmaTokenizer::vocab_size() const {
  return impl_->processor.GetPieceSize();
}

}  // namespace vlbench
