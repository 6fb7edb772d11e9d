//! Arbitrary bytes as a site file: reading and validating must never panic,
//! every problem must carry a place inside the text (or none), and a file
//! that is accepted must hold together: conduits and consequences name
//! defined zones, every zone holds something or is external, levels are
//! 0-5, and placing an address finds a zone that holds it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_site::Site;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Site::parse(text) {
        Err(problems) => {
            assert!(!problems.is_empty(), "refused without a problem");
            let lines = text.lines().count().max(1) + 1;
            for p in &problems {
                assert!(p.line.is_none_or(|l| l >= 1 && l <= lines), "line {:?} outside the text ({lines})", p.line);
                assert!(!p.message.is_empty());
            }
        }
        Ok(site) => {
            for c in &site.conduits {
                assert!(site.zone(&c.from).is_some() && site.zone(&c.to).is_some(), "conduit {} names an undefined zone", c.name);
            }
            for c in &site.consequences {
                assert!(c.zones.iter().all(|z| site.zone(z).is_some()));
            }
            for z in &site.zones {
                assert!(z.level <= 5);
                assert!(z.external || !(z.cidrs.is_empty() && z.vlans.is_empty() && z.assets.is_empty()));
                for net in &z.cidrs {
                    let (zone, block) = site.zone_of_ip(net.network()).expect("a zone's own block places its address");
                    assert!(block.contains(&net.network()));
                    assert!(block.prefix_len() >= net.prefix_len(), "a less specific block won for {}", zone.name);
                }
            }
        }
    }
});
