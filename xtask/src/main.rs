//! Project automation: `cargo xtask ci`, `cargo xtask update-spec`.

fn main() {
    eprintln!("usage: cargo xtask <ci|update-spec>");
    std::process::exit(2);
}
