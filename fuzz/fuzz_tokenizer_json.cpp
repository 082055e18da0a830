// Hugging Face tokenizer.json files (text/hf_tokenizer.hpp): every normalizer, pre-tokenizer,
// model and post-processor the reader accepts, then encoding a few fixed texts with it.
#include "fuzz_util.hpp"

#include <vlbench/text/hf_tokenizer.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  const auto path = fuzz::scratch() / "tokenizer.json";
  fuzz::write_file(path, data, size);
  fuzz::expect_clean([&] {
    const HfTokenizer tokenizer = HfTokenizer::from_file(path);
    for (const char* text : {"", "a photo of a cat", "  Hello, WORLD!  ", "日本語 ça\tvä\u00a0x",
                             "<pad><eos> 123 4567"}) {
      tokenizer.encode(text, 64);
    }
    tokenizer.token_to_id("a");
  });
  return 0;
}
