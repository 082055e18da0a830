// VLBENCH_ISA_CLONES before a hot function compiles it once per x86-64 ISA level (AVX-512,
// AVX2, baseline) and picks the clone at run time (GCC function multiversioning), instead of
// a global -march. ISO C++ mode means no FMA contraction, so every clone gives the same bits.
// Elsewhere (another architecture or compiler) it expands to nothing.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VLBENCH_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VLBENCH_ISA_CLONES
#endif
