//! Tables in `docs/` that tests render from what the code does: a page holds the table between
//! two markers, and the test fails when it differs. `CALLS_UPDATE_DOCS=1` rewrites it instead.

use std::path::Path;

/// Checks that `page` (relative to the repository) holds `wanted` between `start` and `end`.
pub fn check_table(page: &str, start: &str, end: &str, wanted: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
    let text = std::fs::read_to_string(&path).unwrap();
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{page} has the marker {start}"))
        + start.len();
    let to = text
        .find(end)
        .unwrap_or_else(|| panic!("{page} has the marker {end}"));
    if text[from..to] == *wanted {
        return;
    }
    if std::env::var("CALLS_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, format!("{}{wanted}{}", &text[..from], &text[to..])).unwrap();
        return;
    }
    panic!(
        "the table of {page} differs from what the code does; run with CALLS_UPDATE_DOCS=1 to \
         rewrite it. Expected:\n{wanted}"
    );
}
