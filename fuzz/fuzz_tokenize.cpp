// Arbitrary bytes as captions for every tokenizer vlbench ships: CLIP's BPE (text cleaning,
// ftfy-style fixes, HTML unescaping, regex split), SigLIP's SentencePiece (its canonicalizing
// of punctuation and case), Jina-CLIP's BERT WordPiece tokenizer.json, and the tokenizer.json
// of SigLIP 2 when the shared fixtures are present. Invalid UTF-8 must be an Error, never a crash.
#include "fuzz_util.hpp"

#include <vlbench/text/clip_tokenizer.hpp>
#include <vlbench/text/hf_tokenizer.hpp>
#include <vlbench/text/siglip_tokenizer.hpp>

#include <memory>

namespace {

struct Tokenizers {
  vlbench::ClipTokenizer clip =
      vlbench::ClipTokenizer::from_directory(vlbench::fuzz::source_dir() / "data/tokenizers/clip");
  vlbench::SiglipTokenizer siglip = vlbench::SiglipTokenizer::from_directory(
      vlbench::fuzz::source_dir() / "data/tokenizers/siglip");
  vlbench::HfTokenizer wordpiece = vlbench::HfTokenizer::from_file(
      vlbench::fuzz::source_dir() / "data/tokenizers/jina-clip/tokenizer.json");
  std::unique_ptr<vlbench::HfTokenizer> hf = [] {
    const auto path = vlbench::fuzz::shared_fixtures() / "siglip2-tiny/tokenizer.json";
    if (!std::filesystem::exists(path)) return std::unique_ptr<vlbench::HfTokenizer>();
    return std::make_unique<vlbench::HfTokenizer>(vlbench::HfTokenizer::from_file(path));
  }();
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  static const Tokenizers tokenizers;
  const std::string_view text = fuzz::as_text(data, size);
  fuzz::expect_clean([&] { tokenizers.clip.encode(text, 77); });
  fuzz::expect_clean([&] { tokenizers.siglip.encode(text, 64); });
  fuzz::expect_clean([&] { tokenizers.wordpiece.encode(text, 512); });
  if (tokenizers.hf) fuzz::expect_clean([&] { tokenizers.hf->encode(text, 64); });
  return 0;
}
