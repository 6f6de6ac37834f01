// Native per-core rates of the inner loops that decide int8 AdderNet against fp32 GEMM on this
// CPU, for bench/native/tiles.mjs. Not part of mulfree: WebAssembly SIMD128 cannot express the
// first two loops, and this measures what that costs.
//
//   sad256  2 x rows × 4 w rows of u8, vpsadbw on 32 bytes: Σ|x − w| in one instruction per 32
//           pairs (AVX2), plus one 64-bit add.
//   sad128  the same with 16-byte psadbw (SSE2).
//   min128  the instructions of mulfree's tile2x4 (assembly/int8_adder.ts): min_u, pairwise
//           widening by pmaddubsw against ones, u16 add, per 16 pairs; widened to i32 every 64
//           chunks. gcc keeps the ones in a register.
//   min128v8  the same, with the ones reloaded through a pointer at every widening, as V8 11.3
//           lowers i16x8.extadd_pairwise_i8x16_u (a movq of the constant's address, then
//           vpmaddubsw with a memory operand): two loads per 16 pairs.
//   fma256  an fp32 GEMM micro-kernel as onnxruntime's MLAS runs it on AVX2: 6 rows × 16 columns,
//           12 ymm accumulators, one broadcast per row and 12 vfmadd231ps per k.
//
// Every loop works on L1-resident rows (the tiles' own ceiling, as minTileStreamU8 measures in
// wasm). Output: one JSON line per variant {name, elems, ns} for `reps` calls of ≥ ms ms.
//
//   gcc -O3 -funroll-loops -mavx2 -mfma -o tiles tiles.c && ./tiles 200   (tiles.mjs does this)
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROW 1024 // bytes per u8 row: 2 + 4 rows = 6 KiB, in L1
#define KDIM 256 // fp32 GEMM depth: A 6×256 + B 256×16 floats = 22 KiB, in L1

static uint8_t xr[2][ROW] __attribute__((aligned(64)));
static uint8_t wr[4][ROW] __attribute__((aligned(64)));
static float fa[6 * KDIM] __attribute__((aligned(64)));
static float fb[KDIM * 16] __attribute__((aligned(64)));
static volatile int64_t sink;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int64_t hsum64x4(__m256i v) {
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}
static int64_t hsum64x2(__m128i v) { return _mm_cvtsi128_si64(v) + _mm_extract_epi64(v, 1); }

// One 2 × 4 tile of psadbw of vector type VEC (BYTES wide): each call of SAD sums |x − w| of
// BYTES pairs into BYTES / 8 u64 lanes.
#define SAD_TILE(NAME, VEC, BYTES, LOAD, SAD, ADD64, ZERO, HSUM)                   \
  static void NAME(void) {                                                        \
    VEC acc[8];                                                                   \
    for (int i = 0; i < 8; i++) acc[i] = ZERO();                                  \
    for (int o = 0; o < ROW; o += BYTES) {                                        \
      VEC x0 = LOAD((const VEC *)(xr[0] + o)), x1 = LOAD((const VEC *)(xr[1] + o)); \
      for (int c = 0; c < 4; c++) {                                               \
        VEC w = LOAD((const VEC *)(wr[c] + o));                                   \
        acc[c] = ADD64(acc[c], SAD(x0, w));                                       \
        acc[4 + c] = ADD64(acc[4 + c], SAD(x1, w));                               \
      }                                                                           \
    }                                                                             \
    int64_t s = 0;                                                                \
    for (int i = 0; i < 8; i++) s += HSUM(acc[i]);                                \
    sink += s;                                                                    \
  }
SAD_TILE(sad256, __m256i, 32, _mm256_load_si256, _mm256_sad_epu8, _mm256_add_epi64, _mm256_setzero_si256, hsum64x4)
SAD_TILE(sad128, __m128i, 16, _mm_load_si128, _mm_sad_epu8, _mm_add_epi64, _mm_setzero_si128, hsum64x2)

static __m128i ones_in_memory;
static const __m128i *volatile ones_address = &ones_in_memory;

// V8's widening when `reload` is set: the constant's address and the constant loaded each time
static inline __m128i widen_pairs(__m128i m, __m128i ones, int reload) {
  return _mm_maddubs_epi16(m, reload ? _mm_load_si128(ones_address) : ones);
}

static inline void min_tile(int reload) {
  const __m128i ones = _mm_set1_epi8(1), ones16 = _mm_set1_epi16(1);
  __m128i acc[8];
  for (int i = 0; i < 8; i++) acc[i] = _mm_setzero_si128();
  // ROW / 16 = 64 chunks: one u16 run, as the wasm tile (64 · 510 < 2^15)
  for (int o = 0; o < ROW; o += 16) {
    __m128i x0 = _mm_load_si128((const __m128i *)(xr[0] + o)), x1 = _mm_load_si128((const __m128i *)(xr[1] + o));
    for (int c = 0; c < 4; c++) {
      __m128i w = _mm_load_si128((const __m128i *)(wr[c] + o));
      acc[c] = _mm_add_epi16(acc[c], widen_pairs(_mm_min_epu8(x0, w), ones, reload));
      acc[4 + c] = _mm_add_epi16(acc[4 + c], widen_pairs(_mm_min_epu8(x1, w), ones, reload));
    }
  }
  int64_t s = 0;
  for (int i = 0; i < 8; i++) {
    __m128i v = _mm_madd_epi16(acc[i], ones16);
    s += _mm_cvtsi128_si32(v) + _mm_extract_epi32(v, 1) + _mm_extract_epi32(v, 2) + _mm_extract_epi32(v, 3);
  }
  sink += s;
}

static void min128(void) { min_tile(0); }
static void min128v8(void) { min_tile(1); }

static void fma256(void) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_setzero_ps();
  for (int k = 0; k < KDIM; k++) {
    __m256 b0 = _mm256_load_ps(fb + k * 16), b1 = _mm256_load_ps(fb + k * 16 + 8);
    for (int r = 0; r < 6; r++) {
      __m256 a = _mm256_broadcast_ss(fa + r * KDIM + k);
      acc[2 * r] = _mm256_fmadd_ps(a, b0, acc[2 * r]);
      acc[2 * r + 1] = _mm256_fmadd_ps(a, b1, acc[2 * r + 1]);
    }
  }
  float s = 0;
  for (int i = 0; i < 12; i++) {
    float t[8];
    _mm256_storeu_ps(t, acc[i]);
    for (int j = 0; j < 8; j++) s += t[j];
  }
  sink += (int64_t)s;
}

typedef struct { const char *name; void (*run)(void); double elems; } Variant;

int main(int argc, char **argv) {
  double ms = argc > 1 ? atof(argv[1]) : 200;
  srand(1);
  for (int r = 0; r < 2; r++) for (int i = 0; i < ROW; i++) xr[r][i] = rand() >> 7;
  for (int r = 0; r < 4; r++) for (int i = 0; i < ROW; i++) wr[r][i] = rand() >> 7;
  for (int i = 0; i < 6 * KDIM; i++) fa[i] = (rand() & 255) / 256.0f;
  for (int i = 0; i < KDIM * 16; i++) fb[i] = (rand() & 255) / 256.0f;
  Variant vs[] = {
    { "sad256", sad256, 8.0 * ROW }, { "sad128", sad128, 8.0 * ROW },
    { "min128", min128, 8.0 * ROW }, { "min128v8", min128v8, 8.0 * ROW }, { "fma256", fma256, 6.0 * 16 * KDIM },
  };
  ones_in_memory = _mm_set1_epi8(1);
  for (int v = 0; v < (int)(sizeof vs / sizeof vs[0]); v++) {
    for (int i = 0; i < 1000; i++) vs[v].run(); // warm up
    long calls = 0;
    double t0 = now_ns(), t;
    do {
      for (int i = 0; i < 1000; i++) vs[v].run();
      calls += 1000;
      t = now_ns();
    } while (t - t0 < ms * 1e6);
    printf("{\"name\":\"%s\",\"elems\":%.0f,\"ns\":%.0f}\n", vs[v].name, vs[v].elems * calls, t - t0);
  }
  return 0;
}
