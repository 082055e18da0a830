// Content hashes of downloaded files, to check them against their ETag.
#pragma once

#include <filesystem>
#include <string>

namespace vlbench::hub {

// Lower-case hex SHA-1 of "blob <size>\0" followed by the file's bytes: the object id git
// (and so the Hub, for a file not stored in LFS) gives the file. Error naming the path.
std::string git_blob_sha1_file(const std::filesystem::path& path);

}  // namespace vlbench::hub
