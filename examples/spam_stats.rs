//! Statistics of the SpamAssassin corpus as read by the harness (needs
//! `scripts/fetch-data.sh --spam`): `cargo run --release --example spam_stats [DIR]`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-cache/spam-assassin".into());
    let c = ewtune::harness::spam::read_spam_assassin(std::path::Path::new(&dir))?;
    let spam = c.snippets.iter().filter(|s| s.label == 1).count();
    let mut lens: Vec<usize> = c.snippets.iter().map(|s| s.text.chars().count()).collect();
    lens.sort_unstable();
    println!(
        "files {} kept {} (ham {}, spam {}) duplicates {} conflicts {} empty {}; median chars {}",
        c.files,
        c.snippets.len(),
        c.snippets.len() - spam,
        spam,
        c.duplicates,
        c.conflicts,
        c.empty,
        lens.get(lens.len() / 2).copied().unwrap_or(0)
    );
    for s in c.snippets.iter().step_by(1500) {
        println!(
            "[{}] {}",
            s.label,
            s.text.chars().take(160).collect::<String>()
        );
    }
    Ok(())
}
