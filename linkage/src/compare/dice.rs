//! Dice similarity of Bloom-filter encodings: the hot loop of fuzzy comparison. Filters are
//! compared as 64-bit words with `count_ones`, without allocating.

/// Dice similarity 2|A∩B| / (|A|+|B|) of two filters given as little-endian bytes of equal
/// length (a multiple of 8); 0 when both are empty or the lengths differ.
pub fn dice_bytes(a: &[u8], b: &[u8]) -> f32 {
    if a.len() != b.len() || !a.len().is_multiple_of(8) {
        return 0.0;
    }
    let (mut both, mut total) = (0u32, 0u32);
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        both += (x & y).count_ones();
        total += x.count_ones() + y.count_ones();
    }
    if total == 0 { 0.0 } else { 2.0 * both as f32 / total as f32 }
}

/// Dice similarity of two filters as fixed-size word arrays (the fastest form).
pub fn dice_words<const W: usize>(a: &[u64; W], b: &[u64; W]) -> f32 {
    let (mut both, mut total) = (0u32, 0u32);
    for i in 0..W {
        both += (a[i] & b[i]).count_ones();
        total += a[i].count_ones() + b[i].count_ones();
    }
    if total == 0 { 0.0 } else { 2.0 * both as f32 / total as f32 }
}

/// |A∩B| of two filters as fixed-size word arrays: with each filter's bit count kept beside it,
/// Dice is 2|A∩B| / (|A|+|B|) at a third of the popcounts.
#[inline]
pub fn intersection_words<const W: usize>(a: &[u64; W], b: &[u64; W]) -> u32 {
    let mut both = 0u32;
    for i in 0..W {
        both += (a[i] & b[i]).count_ones();
    }
    both
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_definition() {
        let a = [0b1111u64, 0, 1 << 63, 0];
        let b = [0b0011u64, 0, 1 << 63, 1];
        // |A| = 5, |B| = 4, |A∩B| = 3
        assert!((dice_words(&a, &b) - 6.0 / 9.0).abs() < 1e-6);
        let bytes = |w: &[u64; 4]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        assert_eq!(dice_bytes(&bytes(&a), &bytes(&b)), dice_words(&a, &b));
        assert_eq!(intersection_words(&a, &b), 3);
        assert_eq!(dice_bytes(&[0; 16], &[0; 16]), 0.0);
        assert_eq!(dice_bytes(&[1; 16], &[1; 8]), 0.0);
    }
}
