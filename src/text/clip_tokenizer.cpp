#include "vlbench/text/clip_tokenizer.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "text/byte_pair_encoder.hpp"
#include "text/clip_text.hpp"
#include "text/json_file.hpp"
#include "text/utf8.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The reference reads merges[1 : 49152 - 256 - 2 + 1] of merges.txt: the "#version" line is
// skipped and at most 48,894 merges are used (openai/CLIP and transformers' CLIPTokenizer).
constexpr std::size_t kMaxMerges = 49152 - 256 - 2;
// A bound on the per-word cache, which otherwise grows with the corpus vocabulary.
constexpr std::size_t kMaxCachedWords = std::size_t{1} << 20;

// The vocabulary's names of the start and end tokens.
constexpr std::string_view kBos = text::kOpenAiClipSpecials[0];
constexpr std::string_view kEos = text::kOpenAiClipSpecials[1];

// vocab: {"token": id, ...} -> encoder entries; returns one more than the largest id.
std::int64_t add_vocab(const json& vocab, const std::string& where,
                       text::BytePairEncoder& encoder) {
  if (!vocab.is_object()) fail("{}: expected a JSON object of token -> id", where);
  std::int64_t size = 0;
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      fail("{}: entry \"{}\": expected a non-negative 32-bit integer id, got {}", where, token,
           id.dump());
    }
    const auto value = id.get<std::int32_t>();
    encoder.add_token(token, value);
    size = std::max<std::int64_t>(size, std::int64_t{value} + 1);
  }
  return size;
}

// Splits a merges.txt line like Python's str.split(): on runs of ASCII whitespace.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
  };
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !space(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

void add_merges_txt(const std::string& text, const fs::path& path, text::BytePairEncoder& encoder) {
  std::size_t pos = 0;
  std::size_t line_number = 0;
  std::int32_t rank = 0;
  while (pos <= text.size()) {
    const std::size_t newline = std::min(text.find('\n', pos), text.size());
    const std::string_view line(text.data() + pos, newline - pos);
    pos = newline + 1;
    ++line_number;
    if (line_number == 1) continue;           // "#version: 0.2"
    if (line_number - 1 > kMaxMerges) break;  // the reference reads no further
    const std::vector<std::string_view> fields = split_fields(line);
    if (fields.empty()) {
      ++rank;  // the reference keeps an empty entry here, which never matches
      continue;
    }
    if (fields.size() != 2) {
      fail("{}:{}: expected two symbols separated by a space, got \"{}\"", path.string(),
           line_number, line);
    }
    encoder.add_merge(fields[0], fields[1], rank++);
  }
}

void add_json_merges(const json& merges, const std::string& where, text::BytePairEncoder& encoder) {
  if (!merges.is_array()) fail("{}: expected an array", where);
  std::int32_t rank = 0;
  for (const json& merge : merges) {
    if (merge.is_string()) {
      const std::string& s = merge.get_ref<const std::string&>();
      const std::size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size() ||
          s.find(' ', space + 1) != std::string::npos) {
        fail("{}[{}]: expected \"LEFT RIGHT\", got {}", where, rank, merge.dump());
      }
      encoder.add_merge(std::string_view(s).substr(0, space), std::string_view(s).substr(space + 1),
                        rank);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      encoder.add_merge(merge[0].get<std::string>(), merge[1].get<std::string>(), rank);
    } else {
      fail("{}[{}]: expected \"LEFT RIGHT\" or [\"LEFT\", \"RIGHT\"], got {}", where, rank,
           merge.dump());
    }
    ++rank;
  }
}

}  // namespace

struct ClipTokenizer::Impl {
  explicit Impl(std::string source) : encoder(std::move(source)) {}

  text::BytePairEncoder encoder;
  std::span<const std::string_view, 2> specials = text::kOpenAiClipSpecials;  // their text
  std::int32_t bos = -1;
  std::int32_t eos = -1;
  std::int64_t vocab_size = 0;

  // Raw UTF-8 bytes of a pre-token -> its ids. encode() may run on many threads.
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

  void append_word_ids(const std::string& bytes, std::vector<std::int32_t>& ids) const {
    // The reference's cache starts with the special tokens, so a literal "<|endoftext|>" in a
    // caption is that token rather than BPE pieces.
    if (bytes == specials[0]) {
      ids.push_back(bos);
      return;
    }
    if (bytes == specials[1]) {
      ids.push_back(eos);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      const auto it = cache.find(bytes);
      if (it != cache.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<std::int32_t> word_ids;
    encoder.encode_word(bytes, word_ids);
    ids.insert(ids.end(), word_ids.begin(), word_ids.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kMaxCachedWords) cache.clear();
    cache.emplace(bytes, std::move(word_ids));
  }
};

ClipTokenizer::ClipTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::from_directory(const fs::path& dir, Specials specials) {
  const fs::path vocab_path = dir / "vocab.json";
  const fs::path merges_path = dir / "merges.txt";
  const fs::path tokenizer_path = dir / "tokenizer.json";
  const bool has_vocab = fs::is_regular_file(vocab_path);
  const bool has_merges = fs::is_regular_file(merges_path);
  std::unique_ptr<Impl> impl;
  std::string vocab_source;
  if (has_vocab && has_merges) {
    vocab_source = vocab_path.string();
    impl = std::make_unique<Impl>(vocab_path.string() + " + merges.txt");
    impl->vocab_size =
        add_vocab(text::parse_json_text(text::read_text_file(vocab_path), vocab_path),
                  vocab_path.string(), impl->encoder);
    add_merges_txt(text::read_text_file(merges_path), merges_path, impl->encoder);
  } else if (fs::is_regular_file(tokenizer_path)) {
    vocab_source = tokenizer_path.string() + ": model.vocab";
    impl = std::make_unique<Impl>(tokenizer_path.string());
    const json doc = text::parse_json_text(text::read_text_file(tokenizer_path), tokenizer_path);
    const std::string where = tokenizer_path.string() + ": model";
    if (!doc.is_object() || !doc.contains("model") || !doc["model"].is_object()) {
      fail("{}: expected an object with a \"model\" object", tokenizer_path.string());
    }
    const json& model = doc["model"];
    if (model.contains("type") && model["type"] != "BPE") {
      fail("{}.type: expected \"BPE\", got {}", where, model["type"].dump());
    }
    if (model.contains("end_of_word_suffix") && !model["end_of_word_suffix"].is_null() &&
        model["end_of_word_suffix"] != "</w>") {
      fail("{}.end_of_word_suffix: expected \"</w>\" (CLIP), got {}", where,
           model["end_of_word_suffix"].dump());
    }
    if (!model.contains("vocab")) fail("{}: missing \"vocab\"", where);
    if (!model.contains("merges")) fail("{}: missing \"merges\"", where);
    impl->vocab_size = add_vocab(model["vocab"], where + ".vocab", impl->encoder);
    add_json_merges(model["merges"], where + ".merges", impl->encoder);
  } else {
    const char* found = has_vocab    ? " (found vocab.json but not merges.txt)"
                        : has_merges ? " (found merges.txt but not vocab.json)"
                                     : "";
    fail("{}: no CLIP tokenizer files: expected vocab.json and merges.txt, or tokenizer.json{}",
         dir.string(), found);
  }
  if (specials == Specials::open_clip) impl->specials = text::kOpenClipSpecials;
  impl->bos = impl->encoder.token_id(kBos);
  impl->eos = impl->encoder.token_id(kEos);
  if (impl->bos < 0) fail("{}: no \"{}\" token in the vocabulary", vocab_source, kBos);
  if (impl->eos < 0) fail("{}: no \"{}\" token in the vocabulary", vocab_source, kEos);
  return ClipTokenizer(std::move(impl));
}

std::vector<std::int32_t> ClipTokenizer::encode(std::string_view text, int context_length) const {
  if (context_length < 2) {
    fail("CLIP tokenizer: context length must be at least 2 (start and end tokens), got {}",
         context_length);
  }
  const auto limit = static_cast<std::size_t>(context_length);
  const std::u32string cleaned = text::clip_clean_text(text::decode_utf8(text, "text to tokenize"));
  std::vector<std::int32_t> ids{impl_->bos};
  std::string bytes;
  for (std::u32string_view piece : text::clip_pretokenize(cleaned, impl_->specials)) {
    if (ids.size() >= limit - 1) break;  // the rest would be truncated away
    bytes.clear();
    for (char32_t c : piece) text::append_utf8(c, bytes);
    impl_->append_word_ids(bytes, ids);
  }
  // Keep the first context_length - 1 ids, then the end token.
  if (ids.size() > limit - 1) ids.resize(limit - 1);
  ids.push_back(impl_->eos);
  return ids;
}

std::int32_t ClipTokenizer::bos_id() const {
  return impl_->bos;
}
std::int32_t ClipTokenizer::eos_id() const {
  return impl_->eos;
}
std::int64_t ClipTokenizer::vocab_size() const {
  return impl_->vocab_size;
}

}  // namespace vlbench
