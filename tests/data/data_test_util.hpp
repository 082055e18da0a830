// Helpers for the data module's tests.
#pragma once

#include "vlbench/core/error.hpp"
#include "vlbench/data/dataset.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>

namespace vlbench::testing {

// Success when `body` throws vlbench::Error with a one-line message holding every one of
// `parts`; the failure message shows what was thrown instead.
inline ::testing::AssertionResult throws_error(const std::function<void()>& body,
                                               std::initializer_list<std::string> parts) {
  try {
    body();
  } catch (const Error& error) {
    const std::string message = error.what();
    if (message.find('\n') != std::string::npos) {
      return ::testing::AssertionFailure() << "message is not one line: " << message;
    }
    for (const std::string& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << part << "': " << message;
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure() << "threw a non-vlbench error: " << other.what();
  }
  return ::testing::AssertionFailure() << "nothing was thrown";
}

// open_dataset() with the given spec, expecting an Error that holds every one of `parts`.
inline ::testing::AssertionResult open_fails(const std::string& spec,
                                             std::initializer_list<std::string> parts,
                                             const DatasetOptions& options = {}) {
  return throws_error([&] { open_dataset(spec, options); }, parts);
}

inline std::filesystem::path shared_datasets() {
  return std::filesystem::path(VLBENCH_SHARED_FIXTURES) / "datasets";
}

// Every reader must produce these consistent shapes whatever the input.
inline void expect_consistent(const Dataset& d) {
  ASSERT_EQ(d.image_ids.size(), d.image_paths.size());
  ASSERT_EQ(d.caption_image.size(), d.captions.size());
  ASSERT_EQ(d.image_caption_begin.size(), d.image_paths.size() + 1);
  EXPECT_EQ(d.image_caption_begin.front(), 0);
  EXPECT_EQ(d.image_caption_begin.back(), d.n_captions());
  for (std::int64_t i = 0; i < d.n_images(); ++i) {
    for (std::int32_t c = d.image_caption_begin[i]; c < d.image_caption_begin[i + 1]; ++c) {
      EXPECT_EQ(d.caption_image[c], i) << "caption " << c;
    }
  }
}

}  // namespace vlbench::testing
