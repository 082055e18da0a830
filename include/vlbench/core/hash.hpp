#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vlbench {

// Lower-case hex SHA-256 of a file's bytes (streamed). Error naming the path on failure.
std::string sha256_file(const std::filesystem::path& path);
// Lower-case hex SHA-256 of a byte string.
std::string sha256_bytes(std::string_view bytes);

}  // namespace vlbench
