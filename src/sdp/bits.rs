//! Bit-parallel helpers for the scanner: which bytes of a block are
//! newlines or where a media section or an `opus` may start, which bytes of
//! a short window are spaces, slashes or digits, and the value of a run of
//! digits. SSE2 is always there on x86_64; AVX2 is used when the CPU has
//! it; other targets get portable loops.

/// Bytes per bitmask.
pub(crate) const BLOCK: usize = 64;

/// A block with the byte after it, which [`Masks::outline`] looks at for
/// its last position.
pub(crate) type Window = [u8; BLOCK + 1];

/// Ways to classify the bytes of a 64-byte block.
pub(crate) trait Masks: Copy {
    /// Bit `i` set when `block[i]` is a newline.
    fn newlines(self, block: &[u8; BLOCK]) -> u64;

    /// Bit `i` set where byte `i` of the block in `window` and the byte
    /// after it are a newline and `m` (where a media section may start), or
    /// `op` in any case (where an `opus` may start); the byte tells which.
    fn outline(self, window: &Window) -> u64;
}

/// What every CPU of the target has.
#[derive(Clone, Copy)]
pub(crate) struct Baseline;

impl Masks for Baseline {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn newlines(self, block: &[u8; BLOCK]) -> u64 {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        let ptr = block.as_ptr().cast::<__m128i>();
        let mut mask = 0;
        for i in 0..4 {
            // SAFETY: SSE2 is part of the x86_64 baseline; each load reads 16
            // bytes inside the 64-byte array, and `loadu` needs no alignment.
            let bits = unsafe {
                let newline = _mm_set1_epi8(b'\n' as i8);
                _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(ptr.add(i)), newline))
            };
            mask |= u64::from(bits as u16) << (16 * i);
        }
        mask
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn newlines(self, block: &[u8; BLOCK]) -> u64 {
        portable::newline_mask(block)
    }

    /// CPUs without AVX2 are rare where this crate runs; they get the
    /// byte loop, which the compiler vectorises as it can.
    #[inline(always)]
    fn outline(self, window: &Window) -> u64 {
        portable::outline(window)
    }
}

/// Proof that the CPU has AVX2 and BMI1: only [`Avx2::detect`] makes one.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// `Some` when the CPU has AVX2 and BMI1 (std caches the answer).
    #[inline(always)]
    pub(crate) fn detect() -> Option<Self> {
        let found = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("bmi1");
        found.then_some(Avx2(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Masks for Avx2 {
    #[inline(always)]
    fn newlines(self, block: &[u8; BLOCK]) -> u64 {
        #[target_feature(enable = "avx2")]
        fn mask(block: &[u8; BLOCK]) -> u64 {
            use std::arch::x86_64::{
                __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
                _mm256_set1_epi8,
            };
            let ptr = block.as_ptr().cast::<__m256i>();
            let newline = _mm256_set1_epi8(b'\n' as i8);
            // SAFETY: each load reads 32 bytes inside the 64-byte array, and
            // `loadu` needs no alignment.
            let (low, high) = unsafe { (_mm256_loadu_si256(ptr), _mm256_loadu_si256(ptr.add(1))) };
            let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(low, newline)) as u32;
            let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(high, newline)) as u32;
            u64::from(low) | u64::from(high) << 32
        }
        // SAFETY: `self` proves the CPU has AVX2.
        unsafe { mask(block) }
    }

    #[inline(always)]
    fn outline(self, window: &Window) -> u64 {
        #[target_feature(enable = "avx2")]
        fn outline(window: &Window) -> u64 {
            use std::arch::x86_64::{
                _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256,
                _mm256_movemask_epi8 as movemask, _mm256_or_si256, _mm256_set1_epi8 as splat,
            };
            let half = |at: usize| {
                // SAFETY: called with 0 and 32, so the loads read bytes 0..33
                // or 32..65 of the 65-byte array, without alignment
                // requirement.
                let (x, next) = unsafe {
                    let at = window.as_ptr().add(at);
                    (
                        _mm256_loadu_si256(at.cast()),
                        _mm256_loadu_si256(at.add(1).cast()),
                    )
                };
                let media = _mm256_and_si256(
                    _mm256_cmpeq_epi8(x, splat(b'\n' as i8)),
                    _mm256_cmpeq_epi8(next, splat(b'm' as i8)),
                );
                // Setting bit 5 folds `O` onto `o` and `P` onto `p`.
                let o = _mm256_cmpeq_epi8(_mm256_or_si256(x, splat(0x20)), splat(b'o' as i8));
                let p = _mm256_cmpeq_epi8(_mm256_or_si256(next, splat(0x20)), splat(b'p' as i8));
                movemask(_mm256_or_si256(media, _mm256_and_si256(o, p))) as u32
            };
            u64::from(half(0)) | u64::from(half(32)) << 32
        }
        // SAFETY: `self` proves the CPU has AVX2.
        unsafe { outline(window) }
    }
}

/// Bitmasks of the spaces, slashes and ASCII digits in `window`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn byte_classes(window: &[u8; 16]) -> (u32, u32, u32) {
    use std::arch::x86_64::{
        _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_min_epu8,
        _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads the
    // 16 bytes of the array without alignment requirement.
    unsafe {
        let x = _mm_loadu_si128(window.as_ptr().cast());
        let mask = |v| _mm_movemask_epi8(v) as u32;
        let spaces = mask(_mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8)));
        let slashes = mask(_mm_cmpeq_epi8(x, _mm_set1_epi8(b'/' as i8)));
        let at_least_0 = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(b'0' as i8)), x);
        let at_most_9 = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(b'9' as i8)), x);
        (spaces, slashes, mask(_mm_and_si128(at_least_0, at_most_9)))
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) use portable::byte_classes;

/// Byte loops for targets without the SIMD versions, and the reference the
/// SIMD versions are tested against.
mod portable {
    use super::Window;

    #[inline(always)]
    pub(crate) fn outline(window: &Window) -> u64 {
        window.windows(2).enumerate().fold(0, |marks, (i, pair)| {
            let &[b, next] = pair else { return marks };
            let media = b == b'\n' && next == b'm';
            let op = b | 0x20 == b'o' && next | 0x20 == b'p';
            marks | u64::from(media || op) << i
        })
    }

    #[cfg(any(test, not(target_arch = "x86_64")))]
    #[inline(always)]
    pub(crate) fn newline_mask(block: &[u8; super::BLOCK]) -> u64 {
        block
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u64::from(b == b'\n') << i)
    }

    #[cfg(any(test, not(target_arch = "x86_64")))]
    #[inline(always)]
    pub(crate) fn byte_classes(window: &[u8; 16]) -> (u32, u32, u32) {
        window
            .iter()
            .enumerate()
            .fold((0, 0, 0), |(sp, sl, dg), (i, &b)| {
                let bit = |hit: bool| u32::from(hit) << i;
                (
                    sp | bit(b == b' '),
                    sl | bit(b == b'/'),
                    dg | bit(b.is_ascii_digit()),
                )
            })
    }
}

/// The value of the `len` (1 to 8) ASCII digits at byte `at` of `word`,
/// combined pairwise in three multiplications.
#[inline(always)]
pub(crate) fn swar_number(word: u128, at: usize, len: usize) -> u32 {
    let digits = (word >> (8 * at)) as u64 & (u64::MAX >> (64 - 8 * len));
    // Digits are at least `0`, so the subtraction never borrows; shifting
    // them to the top adds leading zeros.
    let zeros = 0x3030_3030_3030_3030 & (u64::MAX >> (64 - 8 * len));
    let v = (digits - zeros) << (64 - 8 * len);
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    let v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
    v as u32
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn newline_masks_match_the_byte_loop(block in proptest::array::uniform32(any::<u8>()), nl in proptest::collection::vec(0..64usize, 0..8)) {
            let mut full = [0u8; BLOCK];
            full[..32].copy_from_slice(&block);
            full[32..].copy_from_slice(&block);
            for i in nl {
                full[i] = b'\n';
            }
            let expected = portable::newline_mask(&full);
            prop_assert_eq!(Baseline.newlines(&full), expected);
            #[cfg(target_arch = "x86_64")]
            if let Some(avx2) = Avx2::detect() {
                prop_assert_eq!(avx2.newlines(&full), expected);
            }
        }

        #[test]
        fn outline_masks_match_the_byte_loop(bytes in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'm'), Just(b'O'), Just(b'o'), Just(b'p'), Just(b'P'), any::<u8>()], BLOCK + 1)) {
            let window: Window = bytes.try_into().expect("65 bytes");
            let expected = portable::outline(&window);
            prop_assert_eq!(Baseline.outline(&window), expected);
            #[cfg(target_arch = "x86_64")]
            if let Some(avx2) = Avx2::detect() {
                prop_assert_eq!(avx2.outline(&window), expected);
            }
        }

        #[test]
        fn byte_classes_match_the_byte_loop(window in proptest::array::uniform16(prop_oneof![Just(b' '), Just(b'/'), any::<u8>(), 0x2f..0x3bu8])) {
            prop_assert_eq!(byte_classes(&window), portable::byte_classes(&window));
        }
    }
}
