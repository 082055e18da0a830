#include "vlbench/text/siglip_tokenizer.hpp"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>

#include "text/clip_text.hpp"
#include "text/json_file.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using text::JsonNode;

// Appended to spiece.model: a second ModelProto.normalizer_spec (field 3, 2 bytes) holding
// add_dummy_prefix (field 3) = false. Protobuf merges repeated message fields, so this is
// transformers' `model.normalizer_spec.MergeFrom(NormalizerSpec(add_dummy_prefix=False))`.
constexpr std::string_view kNoDummyPrefix("\x1a\x02\x18\x00", 4);

constexpr std::u32string_view kPunctuation = U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
constexpr char32_t kSpieceUnderline = U'\u2581';

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = true;
  bool special = false;
};

std::u32string to_u32(std::string_view utf8) {
  return text::decode_utf8(utf8, "token");
}

std::string to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) text::append_utf8(c, out);
  return out;
}

// A special token given as "</s>" or {"content": "</s>", "lstrip": ..., ...}. A plain string
// gets SiglipTokenizer's own flags (lstrip and rstrip, not normalised).
AddedToken parse_special(const JsonNode& node) {
  AddedToken token;
  token.special = true;
  if (node.value().is_string()) {
    token.content = node.as_string();
    token.lstrip = token.rstrip = true;
    token.normalized = false;
    return token;
  }
  node.expect_object();
  token.content = node.at("content").as_string();
  token.lstrip = node.get_bool("lstrip", false);
  token.rstrip = node.get_bool("rstrip", false);
  token.single_word = node.get_bool("single_word", false);
  token.normalized = node.get_bool("normalized", true);
  return token;
}

struct JsonFile {
  std::string path;
  nlohmann::json doc;
  std::optional<JsonNode> root() const {
    if (doc.is_null()) return std::nullopt;
    return JsonNode(doc, path);
  }
};

JsonFile read_optional_json(const fs::path& path) {
  JsonFile file{path.string(), nullptr};
  if (fs::exists(path)) {
    file.doc = text::parse_json_text(text::read_text_file(path), path);
    JsonNode(file.doc, file.path).expect_object();
  }
  return file;
}

bool starts_with_at(std::u32string_view s, std::size_t pos, std::u32string_view prefix) {
  return s.size() - pos >= prefix.size() && s.compare(pos, prefix.size(), prefix) == 0;
}

}  // namespace

struct SiglipTokenizer::Impl {
  std::string model_path;
  sentencepiece::SentencePieceProcessor processor;
  bool do_lower_case = true;
  std::int32_t eos = 0;
  std::int32_t pad = 0;
  std::int32_t unk = 0;
  std::string unk_token;
  std::size_t unk_token_length = 0;         // pieces of encode(unk_token)
  std::vector<AddedToken> added;            // matched in the text, longest first at a position
  std::vector<std::u32string> added_chars;  // added[i].content as code points
  std::unordered_map<std::string, std::size_t> added_index;  // content -> index in `added`
  std::vector<std::u32string> keep_case;                     // not lower-cased, tried in this order
  std::vector<std::string> all_special;                      // all_special_tokens

  std::vector<std::string> sentencepiece(const std::string& text) const {
    std::vector<std::string> pieces;
    const auto status = processor.Encode(text, &pieces);
    if (!status.ok()) fail("{}: SentencePiece failed: {}", model_path, status.ToString());
    return pieces;
  }

  // transformers' _tokenize of one piece of text between added tokens.
  void tokenize_piece(std::u32string_view piece, std::vector<std::string>& tokens) const {
    // canonicalize_text: ASCII punctuation deleted, \s+ -> " ", strip().
    std::string canonical = unk_token;
    const std::size_t body = canonical.size();
    bool pending_space = false;
    for (char32_t c : piece) {
      if (kPunctuation.find(c) != std::u32string_view::npos) continue;
      if (text::is_python_space(c)) {
        pending_space = canonical.size() > body;
        continue;
      }
      if (pending_space) canonical.push_back(' ');
      pending_space = false;
      text::append_utf8(c, canonical);
    }
    // SentencePiece sees "<unk>" + text; the pieces of "<unk>" alone are dropped. (With
    // add_dummy_prefix off, a leading "▁" would otherwise be lost.)
    std::vector<std::string> pieces = sentencepiece(canonical);
    const std::size_t skip = pieces.size() >= unk_token_length ? unk_token_length : 0;
    tokens.insert(tokens.end(), std::make_move_iterator(pieces.begin() + static_cast<long>(skip)),
                  std::make_move_iterator(pieces.end()));
  }

  // Leftmost-longest added token at or after `from`: (begin, index in added).
  std::optional<std::pair<std::size_t, std::size_t>> find_added(std::u32string_view s,
                                                                std::size_t from) const {
    for (std::size_t i = from; i < s.size(); ++i) {
      std::optional<std::size_t> best;
      for (std::size_t t = 0; t < added_chars.size(); ++t) {
        if (starts_with_at(s, i, added_chars[t]) &&
            (!best || added_chars[t].size() > added_chars[*best].size())) {
          best = t;
        }
      }
      if (best) return std::make_pair(i, *best);
    }
    return std::nullopt;
  }

  std::vector<std::string> tokenize(std::u32string text) const;
};

SiglipTokenizer::SiglipTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SiglipTokenizer::SiglipTokenizer(SiglipTokenizer&&) noexcept = default;
SiglipTokenizer& SiglipTokenizer::operator=(SiglipTokenizer&&) noexcept = default;
SiglipTokenizer::~SiglipTokenizer() = default;

SiglipTokenizer SiglipTokenizer::from_directory(const fs::path& dir) {
  auto impl = std::make_unique<Impl>();
  const fs::path model_path = dir / "spiece.model";
  impl->model_path = model_path.string();
  if (!fs::is_regular_file(model_path)) {
    fail("{}: no such file (a SigLIP checkpoint keeps its SentencePiece model there)",
         impl->model_path);
  }
  std::string proto = text::read_text_file(model_path);
  proto.append(kNoDummyPrefix);
  if (const auto status = impl->processor.LoadFromSerializedProto(proto); !status.ok()) {
    fail("{}: not a SentencePiece model that libsentencepiece can load ({})", impl->model_path,
         status.ToString());
  }

  const JsonFile config = read_optional_json(dir / "tokenizer_config.json");
  const JsonFile special_map = read_optional_json(dir / "special_tokens_map.json");
  if (const auto root = config.root()) impl->do_lower_case = root->get_bool("do_lower_case", true);

  // The special tokens: special_tokens_map.json wins over tokenizer_config.json, as in
  // transformers' from_pretrained.
  const auto special = [&](std::string_view key, std::string_view fallback) {
    for (const JsonFile* file : {&special_map, &config}) {
      if (const auto root = file->root()) {
        if (const auto node = root->find(key)) return parse_special(*node);
      }
    }
    AddedToken token;
    token.content = fallback;
    token.special = token.lstrip = token.rstrip = true;
    token.normalized = false;
    return token;
  };
  std::vector<AddedToken> specials = {special("eos_token", "</s>"), special("unk_token", "<unk>"),
                                      special("pad_token", "</s>")};
  for (const JsonFile* file : {&special_map, &config}) {
    const auto root = file->root();
    if (!root) continue;
    if (const auto extra = root->find("additional_special_tokens")) {
      for (std::size_t i = 0; i < extra->size(); ++i)
        specials.push_back(parse_special((*extra)[i]));
      break;
    }
  }

  // tokenizer_config.json's added_tokens_decoder: {"1": {"content": "</s>", ...}, ...}.
  if (const auto root = config.root()) {
    if (const auto decoder = root->find("added_tokens_decoder")) {
      decoder->expect_object();
      for (const auto& [key, value] : decoder->value().items()) {
        const JsonNode entry(value, config.path, decoder->path() + "." + key);
        AddedToken token;
        try {
          std::size_t used = 0;
          token.id = std::stoi(key, &used);
          if (used != key.size() || token.id < 0) throw std::invalid_argument(key);
        } catch (const std::exception&) {
          entry.fail("expected a non-negative integer id as the key");
        }
        token.content = entry.at("content").as_string();
        token.lstrip = entry.get_bool("lstrip", false);
        token.rstrip = entry.get_bool("rstrip", false);
        token.single_word = entry.get_bool("single_word", false);
        token.normalized = entry.get_bool("normalized", true);
        token.special = entry.get_bool("special", false);
        impl->added_index[token.content] = impl->added.size();
        impl->added.push_back(std::move(token));
      }
    }
  }
  // Special tokens take their id from the vocabulary (or the decoder entry) and replace the
  // decoder entry's flags, as PreTrainedTokenizer's _add_tokens does.
  // A content given twice (pad = eos) keeps its first definition (all_special_tokens_extended
  // drops the repeat).
  for (AddedToken& token : specials) {
    const auto it = impl->added_index.find(token.content);
    if (std::find(impl->all_special.begin(), impl->all_special.end(), token.content) !=
        impl->all_special.end()) {
      token.id = impl->added[it->second].id;
      continue;
    }
    impl->all_special.push_back(token.content);
    if (it != impl->added_index.end()) {
      token.id = impl->added[it->second].id;
      impl->added[it->second] = token;
      continue;
    }
    const int id = impl->processor.PieceToId(token.content);
    if (id == impl->processor.unk_id() && impl->processor.IdToPiece(id) != token.content) {
      fail("{}: special token \"{}\" is not a piece of the model", impl->model_path, token.content);
    }
    token.id = id;
    impl->added_index[token.content] = impl->added.size();
    impl->added.push_back(token);
  }
  for (const AddedToken& token : impl->added) impl->added_chars.push_back(to_u32(token.content));

  // The lower-casing pattern keeps the special tokens and the non-special normalised added
  // tokens as they are.
  for (const std::string& s : impl->all_special) impl->keep_case.push_back(to_u32(s));
  for (const AddedToken& token : impl->added) {
    if (!token.special && token.normalized) impl->keep_case.push_back(to_u32(token.content));
  }

  impl->eos = specials[0].id;
  impl->unk = specials[1].id;
  impl->pad = specials[2].id;
  impl->unk_token = specials[1].content;
  impl->unk_token_length = impl->sentencepiece(impl->unk_token).size();
  return SiglipTokenizer(std::move(impl));
}

// PreTrainedTokenizer.tokenize + SiglipTokenizer.tokenize: strings of pieces and added tokens.
std::vector<std::string> SiglipTokenizer::Impl::tokenize(std::u32string text) const {
  if (do_lower_case) {
    std::u32string lowered;
    lowered.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
      const auto kept = std::find_if(
          keep_case.begin(), keep_case.end(),
          [&](const std::u32string& t) { return !t.empty() && starts_with_at(text, i, t); });
      if (kept != keep_case.end()) {
        lowered.append(*kept);
        i += kept->size();
      } else {
        text::append_lower_char(text[i], lowered);  // regex (.+?): one character at a time
        ++i;
      }
    }
    text = std::move(lowered);
  }

  // tokens_trie.split: text and added tokens, in order, none empty.
  std::vector<std::u32string> parts;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto found = find_added(text, pos);
    const std::size_t begin = found ? found->first : text.size();
    if (begin > pos) parts.push_back(text.substr(pos, begin - pos));
    if (!found) break;
    parts.push_back(added_chars[found->second]);
    pos = begin + added_chars[found->second].size();
  }

  // Whitespace beside added tokens, and single_word.
  const auto token_of = [this](const std::u32string& part) -> const AddedToken* {
    const auto it = added_index.find(to_utf8(part));
    return it == added_index.end() ? nullptr : &added[it->second];
  };
  const auto strip_left = [](std::u32string& s) {
    std::size_t n = 0;
    while (n < s.size() && text::is_python_space(s[n])) ++n;
    s.erase(0, n);
  };
  const auto strip_right = [](std::u32string& s) {
    while (!s.empty() && text::is_python_space(s.back())) s.pop_back();
  };
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const AddedToken* token = token_of(parts[i]);
    if (token == nullptr) continue;
    // The neighbours as they were before this token's stripping (what transformers tests).
    const std::u32string left = i > 0 ? parts[i - 1] : std::u32string();
    const std::u32string right = i + 1 < parts.size() ? parts[i + 1] : std::u32string();
    if (token->rstrip && !right.empty()) strip_left(parts[i + 1]);
    if (token->lstrip && !left.empty()) strip_right(parts[i - 1]);
    if (token->single_word && !left.empty() && left.back() != U' ') {
      parts[i - 1] += parts[i];
      parts[i].clear();
    } else if (token->single_word && !right.empty() && right.front() != U' ') {
      parts[i + 1] = parts[i] + parts[i + 1];
      parts[i].clear();
    }
  }

  std::vector<std::string> tokens;
  for (const std::u32string& part : parts) {
    if (part.empty()) continue;
    if (token_of(part) != nullptr) {
      tokens.push_back(to_utf8(part));
    } else {
      tokenize_piece(part, tokens);
    }
  }
  // SiglipTokenizer.tokenize: a lone "▁" before a special token goes.
  if (tokens.size() > 1 && tokens[0] == "\xE2\x96\x81" &&
      std::find(all_special.begin(), all_special.end(), tokens[1]) != all_special.end()) {
    tokens.erase(tokens.begin());
  }
  return tokens;
}

std::vector<std::int32_t> SiglipTokenizer::encode(std::string_view text, int max_length) const {
  if (max_length < 0) {
    fail("{}: max_length must be 0 (no truncation) or positive, got {}", impl_->model_path,
         max_length);
  }
  const std::u32string chars = text::decode_utf8(text, impl_->model_path + ": text to tokenize");
  std::u32string prefixed(1, kSpieceUnderline);
  prefixed.reserve(chars.size() + 1);
  for (char32_t c : chars) prefixed.push_back(c == kSpieceUnderline ? U' ' : c);

  std::vector<std::int32_t> ids;
  for (const std::string& token : impl_->tokenize(std::move(prefixed))) {
    const auto it = impl_->added_index.find(token);
    ids.push_back(it != impl_->added_index.end() ? impl_->added[it->second].id
                                                 : impl_->processor.PieceToId(token));
  }
  // prepare_for_model: room for the eos, then eos unless already last.
  if (max_length > 0 && ids.size() + 1 > static_cast<std::size_t>(max_length)) {
    ids.resize(static_cast<std::size_t>(max_length) - 1);
  }
  if (ids.empty() || ids.back() != impl_->eos) ids.push_back(impl_->eos);
  return ids;
}

std::int32_t SiglipTokenizer::pad_id() const {
  return impl_->pad;
}
std::int32_t SiglipTokenizer::eos_id() const {
  return impl_->eos;
}
std::int32_t SiglipTokenizer::unk_id() const {
  return impl_->unk;
}
std::int64_t SiglipTokenizer::vocab_size() const {
  return impl_->processor.GetPieceSize();
}

}  // namespace vlbench
