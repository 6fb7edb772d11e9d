//! Reads range texts (one per line on stdin) and prints what each reads as:
//! `text <TAB> canonical`. With an argument, also checks that observed
//! version against each range: `text <TAB> verdict <TAB> reason`.
//!
//!     cargo run -p otposture-versions --example read [OBSERVED] < ranges.txt
use otposture_versions::{check, Range, Version};
use std::io::BufRead;

fn main() {
    let observed = std::env::args().nth(1).map(|v| Version::parse(&v));
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let r = Range::parse(&line);
        match &observed {
            Some(Ok(v)) => {
                let verdict = check(&r, v);
                println!("{line:?}\t{}\t{}", verdict.label(), verdict.reason());
            }
            Some(Err(e)) => {
                eprintln!("{e}");
                return;
            }
            None => println!("{line:?}\t{}", r.canonical()),
        }
    }
}
