// TokenStore: page tokens kept as f32 / bf16 / int8 / binary for MaxSim. Decoded values
// against quantize.hpp's dequantization and hand-computed cases; scores bit-identical to the
// float32 MaxSim of the decoded tokens at every ISA, thread count and block boundary.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "index/maxsim_isa.hpp"
#include "test_util.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/index/maxsim.hpp"
#include "vlbench/index/quantize.hpp"

namespace vlbench {
namespace {

using testing::expect_error;

constexpr TokenStorage kStorages[] = {TokenStorage::f32, TokenStorage::bf16, TokenStorage::int8,
                                      TokenStorage::binary};

// n items of uneven lengths in [1, t_max], normal entries; padding rows NaN (never read).
MultiVectorSet random_set(std::int64_t n, std::int64_t t_max, std::int64_t d, SplitMix64& rng) {
  MultiVectorSet set;
  set.n = n;
  set.t_max = t_max;
  set.d = d;
  set.tokens.assign(static_cast<std::size_t>(n * t_max * d),
                    std::numeric_limits<float>::quiet_NaN());
  for (std::int64_t i = 0; i < n; ++i) {
    // Item 0 is full: its last block is whole when t_max is a multiple of 24.
    const auto length = static_cast<std::int32_t>(
        i == 0 ? t_max : 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(t_max))));
    set.lengths.push_back(length);
    for (std::int64_t k = 0; k < length * d; ++k) {
      set.tokens[static_cast<std::size_t>(i * t_max * d + k)] = static_cast<float>(rng.normal());
    }
  }
  return set;
}

TEST(TokenStore, NamesAndSizes) {
  for (const TokenStorage s : kStorages) EXPECT_EQ(parse_token_storage(token_storage_name(s)), s);
  expect_error([] { parse_token_storage("fp16"); },
               {"token storage", "f32, bf16, int8, binary", "'fp16'"});
  SplitMix64 rng(3);
  const MultiVectorSet set = random_set(5, 30, 130, rng);
  std::int64_t real = 0;
  for (const std::int32_t length : set.lengths) real += length;
  const std::int64_t expected_bytes[] = {4 * 130, 2 * 130, 130 + 4, 17};
  for (int k = 0; k < 4; ++k) {
    const TokenStore store = store_tokens(set, kStorages[k]);
    EXPECT_EQ(store.total_tokens(), real);  // packed: padding is not stored
    EXPECT_EQ(store.bytes_per_token(), expected_bytes[k]);
    EXPECT_EQ(store.payload_bytes(), real * expected_bytes[k]);
    EXPECT_EQ(store.offsets.front(), 0);
    EXPECT_EQ(store.offsets[1], set.lengths[0]);
  }
}

TEST(TokenStore, HandComputedValuesAndScore) {
  // One item of two tokens, d 3. Query token (1, 1, 1).
  MultiVectorSet set;
  set.n = 1;
  set.t_max = 2;
  set.d = 3;
  set.tokens = {1.0f + 0x1p-9f, -0.5f, 0.25f,   // bf16 to nearest: 1 + 2^-9 -> 1
                2.0f, -1.0f, 0.0f};
  set.lengths = {2};
  const std::vector<float> q = {1, 1, 1};
  const std::vector<std::int64_t> candidates = {0};
  std::vector<double> score(1);

  const MultiVectorSet bf16 = decode_tokens(store_tokens(set, TokenStorage::bf16));
  EXPECT_EQ(bf16.tokens, (std::vector<float>{1.0f, -0.5f, 0.25f, 2.0f, -1.0f, 0.0f}));
  maxsim_candidates(q.data(), 1, store_tokens(set, TokenStorage::bf16), candidates, score);
  EXPECT_EQ(score[0], 1.0);  // max(1 - 0.5 + 0.25, 2 - 1 + 0)

  // int8: token 0 has scale (1 + 2^-9) / 127, codes 127, -63.4.. -> -63, 31.7.. -> 32; token 1
  // scale 2 / 127, codes 127, -63.5 -> -64 (half to even), 0.
  const TokenStore int8 = store_tokens(set, TokenStorage::int8);
  EXPECT_EQ(int8.codes, (std::vector<std::int8_t>{127, -63, 32, 127, -64, 0}));
  const float s1 = static_cast<float>(2.0 / 127.0);
  const MultiVectorSet int8_values = decode_tokens(int8);
  EXPECT_EQ(int8_values.tokens[3], 127.0f * s1);
  EXPECT_EQ(int8_values.tokens[4], -64.0f * s1);

  // binary: signs (+, -, +), (+, -, -): scores 1 and -1.
  const TokenStore binary = store_tokens(set, TokenStorage::binary);
  EXPECT_EQ(binary.bits, (std::vector<std::uint8_t>{0b101, 0b001}));
  maxsim_candidates(q.data(), 1, binary, candidates, score);
  EXPECT_EQ(score[0], 1.0);
}

TEST(TokenStore, DecodedValuesAreQuantizeDequantize) {
  SplitMix64 rng(5);
  const MultiVectorSet set = random_set(7, 40, 33, rng);
  for (const TokenStorage storage : kStorages) {
    SCOPED_TRACE(token_storage_name(storage));
    const MultiVectorSet decoded = decode_tokens(store_tokens(set, storage));
    ASSERT_EQ(decoded.t_max, 40);
    EXPECT_EQ(decoded.lengths, set.lengths);
    for (std::int64_t i = 0; i < set.n; ++i) {
      const std::int64_t count = set.lengths[static_cast<std::size_t>(i)] * set.d;
      std::vector<float> expected(set.item(i), set.item(i) + count);
      if (storage == TokenStorage::int8) {
        quantize_dequantize(Quantization::int8, expected.data(), count / set.d, set.d);
      } else if (storage == TokenStorage::binary) {
        quantize_dequantize(Quantization::binary, expected.data(), count / set.d, set.d);
      } else if (storage == TokenStorage::bf16) {
        for (float& x : expected) x = bf16_to_f32(f32_to_bf16(x));
      }
      const std::vector<float> got(decoded.item(i), decoded.item(i) + count);
      EXPECT_EQ(got, expected) << "item " << i;
      for (std::int64_t k = count; k < decoded.t_max * decoded.d; ++k) {
        EXPECT_EQ(decoded.item(i)[k], 0.0f);
      }
    }
  }
}

TEST(TokenStore, ScoresHaveTheBitsOfFloat32MaxSimOnDecodedTokens) {
  SplitMix64 rng(17);
  ThreadPool pool(3);
  // t_max 72: whole blocks of 24 and ragged last blocks; d 1, odd, 128, and not a multiple of
  // any vector width; query lengths across 1, 2 and 3 packed chunks.
  for (const std::int64_t d : {1, 7, 17, 128, 130}) {
    const MultiVectorSet set = random_set(6, 72, d, rng);
    for (const TokenStorage storage : kStorages) {
      const TokenStore store = store_tokens(set, storage);
      const MultiVectorSet decoded = decode_tokens(store);
      for (const std::int64_t n_q : {1, 16, 25, 33, 70}) {
        SCOPED_TRACE(::testing::Message() << token_storage_name(storage) << " d " << d << " n_q "
                                          << n_q);
        std::vector<float> q(static_cast<std::size_t>(n_q * d));
        for (float& x : q) x = static_cast<float>(rng.normal());
        const std::vector<std::int64_t> candidates = {5, 0, 3, 3, 1, 4, 2};
        std::vector<double> scores(candidates.size()), threaded(candidates.size()),
            reference(candidates.size());
        maxsim_candidates(q.data(), n_q, store, candidates, scores);
        maxsim_candidates(q.data(), n_q, store, candidates, threaded, pool);
        maxsim_candidates(q.data(), n_q, decoded, candidates, reference);
        EXPECT_EQ(scores, reference);
        EXPECT_EQ(threaded, reference);
        for (std::size_t c = 0; c < candidates.size(); ++c) {
          for (const MaxSimIsa isa : {MaxSimIsa::avx512, MaxSimIsa::avx2, MaxSimIsa::scalar}) {
            if (maxsim_isa_supported(isa)) {
              EXPECT_EQ(maxsim_stored_with_isa(isa, q.data(), n_q, store, candidates[c]),
                        reference[c]);
            }
          }
        }
      }
    }
  }
}

TEST(TokenStore, CompactStorageStaysCloseToFloat32) {
  // Unit-length tokens as a model writes them: bf16 within 2^-8 relative per value, int8 within
  // half a code step; binary only ranks, so it is not compared by value.
  SplitMix64 rng(23);
  MultiVectorSet set = random_set(4, 48, 128, rng);
  for (std::int64_t t = 0; t < set.n * set.t_max; ++t) {
    float* row = set.tokens.data() + t * set.d;
    if (std::isnan(row[0])) continue;
    double norm = 0;
    for (std::int64_t p = 0; p < set.d; ++p) norm += static_cast<double>(row[p]) * row[p];
    for (std::int64_t p = 0; p < set.d; ++p) row[p] = static_cast<float>(row[p] / std::sqrt(norm));
  }
  std::vector<float> q(static_cast<std::size_t>(25 * set.d));
  for (float& x : q) x = static_cast<float>(rng.normal() / std::sqrt(128.0));
  const std::vector<std::int64_t> candidates = {0, 1, 2, 3};
  std::vector<double> full(4), bf16(4), int8(4);
  maxsim_candidates(q.data(), 25, set, candidates, full);
  maxsim_candidates(q.data(), 25, store_tokens(set, TokenStorage::bf16), candidates, bf16);
  maxsim_candidates(q.data(), 25, store_tokens(set, TokenStorage::int8), candidates, int8);
  for (int c = 0; c < 4; ++c) {
    EXPECT_NEAR(bf16[c], full[c], 0.02 * std::abs(full[c]));
    EXPECT_NEAR(int8[c], full[c], 0.02 * std::abs(full[c]));
    EXPECT_NE(bf16[c], full[c]);  // the storage is really used
  }
}

TEST(TokenStore, NonFiniteTokensAreErrors) {
  SplitMix64 rng(29);
  MultiVectorSet set = random_set(3, 10, 4, rng);
  set.tokens[static_cast<std::size_t>(2 * 10 * 4 + 0 * 4 + 2)] =
      std::numeric_limits<float>::infinity();
  for (const TokenStorage storage : kStorages) {
    expect_error([&] { store_tokens(set, storage); },
                 {"store_tokens", "item 2 token 0 dimension 2", "inf", "finite"});
  }
  MultiVectorSet huge = random_set(1, 1, 2, rng);
  huge.tokens[1] = 3.4e38f;  // finite in float32, rounds to infinity in bfloat16
  expect_error([&] { store_tokens(huge, TokenStorage::bf16); },
               {"item 0 token 0 dimension 1", "bfloat16"});
  EXPECT_EQ(store_tokens(huge, TokenStorage::int8).codes[1], 127);
}

}  // namespace
}  // namespace vlbench
