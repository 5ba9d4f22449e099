//! Project automation, run as `cargo xtask <task>`.
//!
//! - `cargo xtask openapi` rewrites `openapi.yaml` from the code.
//! - `cargo xtask openapi --check` exits 1 with a unified diff when `openapi.yaml` is stale, and
//!   2 when it cannot be read or written.

use std::process::ExitCode;

use crm_server::openapi::{
    Freshness, REGENERATE_COMMAND, committed_path, document_yaml, freshness,
};

const USAGE: &str = "usage: cargo xtask openapi [--check]";

/// Exit code of a stale file.
const STALE: u8 = 1;
/// Exit code of a usage error or a file that cannot be read or written.
const BROKEN: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["openapi"] => write(),
        ["openapi", "--check"] => check(),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(BROKEN)
        }
    }
}

fn write() -> ExitCode {
    let path = committed_path();
    let generated = document_yaml();
    if std::fs::read_to_string(&path).is_ok_and(|current| current == generated) {
        println!("openapi.yaml is up to date");
        return ExitCode::SUCCESS;
    }
    match std::fs::write(&path, generated) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", path.display());
            ExitCode::from(BROKEN)
        }
    }
}

fn check() -> ExitCode {
    let path = committed_path();
    let committed = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!(
                "error: cannot read {}: {error}\nrun `{REGENERATE_COMMAND}` to create it",
                path.display()
            );
            return ExitCode::from(BROKEN);
        }
    };
    match freshness(&committed) {
        Freshness::UpToDate => {
            println!("openapi.yaml is up to date");
            ExitCode::SUCCESS
        }
        Freshness::Stale { diff } => {
            eprintln!("{diff}");
            eprintln!(
                "error: openapi.yaml is stale: the code generates the document above.\n\
                 run `{REGENERATE_COMMAND}` and commit openapi.yaml"
            );
            ExitCode::from(STALE)
        }
    }
}
