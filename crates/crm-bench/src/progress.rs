//! Progress bars for the phases that take more than a few seconds (seeding, the measurements,
//! the scale test). They draw on stderr when it is a terminal and hide themselves otherwise
//! (indicatif's `ProgressDrawTarget::stderr`), so CI logs and `2>file` stay quiet.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `what`, counting `unit` (e.g. "contacts", "requests").
pub fn bar(len: u64, what: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} {{msg}} \
         ({{elapsed}}, {{eta}} left)"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
