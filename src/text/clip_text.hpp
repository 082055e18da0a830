// The text side of the openai/CLIP reference tokenizer (simple_tokenizer.py), with ftfy
// replaced by NFC as transformers' CLIPTokenizer does when ftfy is absent.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vlbench::text {

// Python's str.isspace(): bidirectional class WS, B or S, or general category Zs.
bool is_python_space(char32_t c);

// whitespace_clean(basic_clean(text)).lower() of the reference: NFC, html.unescape twice,
// runs of str.isspace() characters -> one ' ', stripped, then full Unicode lower-casing
// (Python's str.lower(), final sigma included).
std::u32string clip_clean_text(std::u32string_view text);

// The special tokens' text: openai/CLIP's (and transformers') "<|startoftext|>" and
// "<|endoftext|>"; open_clip's SimpleTokenizer calls them "<start_of_text>" / "<end_of_text>".
inline constexpr std::string_view kOpenAiClipSpecials[] = {"<|startoftext|>", "<|endoftext|>"};
inline constexpr std::string_view kOpenClipSpecials[] = {"<start_of_text>", "<end_of_text>"};

// regex.findall of CLIP's pattern (Python `regex`, IGNORECASE) on cleaned text:
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// with `specials` (start, end) in place of the first two alternatives. Returns views into
// `text`, in order.
std::vector<std::u32string_view> clip_pretokenize(
    std::u32string_view text, std::span<const std::string_view, 2> specials = kOpenAiClipSpecials);

}  // namespace vlbench::text
