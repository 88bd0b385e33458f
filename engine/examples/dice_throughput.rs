//! Dice comparisons per second on one core: 1024-bit filters as sixteen u64 words with their
//! bit counts kept beside them, the loop the linkage runs per candidate pair
//! (`linkage::compare::dice::intersection_words`). Prints JSON.
//!
//!   cargo run --release --example dice_throughput [-- FILTERS]

use std::hint::black_box;
use std::time::Instant;

use linkage::compare::dice::intersection_words;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(4_096);
    // filters about half full, as balanced hardening makes them; xorshift, fixed seed
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let filters: Vec<[u64; 16]> = (0..n).map(|_| std::array::from_fn(|_| next())).collect();
    let ones: Vec<u32> = filters.iter().map(|f| f.iter().map(|w| w.count_ones()).sum()).collect();
    // all pairs of a block that stays in cache, as a blocked comparison does
    let start = Instant::now();
    let mut above = 0u64;
    let mut comparisons = 0u64;
    for (a, oa) in filters.iter().zip(&ones) {
        for (b, ob) in filters.iter().zip(&ones) {
            let dice = 2.0 * intersection_words(black_box(a), black_box(b)) as f32 / (oa + ob) as f32;
            above += u64::from(dice >= 0.8);
            comparisons += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"comparisons\":{comparisons},\"seconds\":{seconds:.4},\"comparisons_per_second\":{:.0},\"above_0_8\":{above}}}",
        comparisons as f64 / seconds
    );
}
