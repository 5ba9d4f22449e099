//! Project automation, run as `cargo xtask <task>`.
//!
//! - `cargo xtask openapi` rewrites `openapi.yaml` from the code.
//! - `cargo xtask openapi --check` exits 1 with a unified diff when `openapi.yaml` is stale, and
//!   2 when it cannot be read or written.
//! - `cargo xtask openapi --breaking [--spec FILE] [--against FILE]` compares `openapi.yaml`
//!   (or FILE) with the latest released contract, `docs/api/openapi-<version>.yaml` (or FILE),
//!   with Optic, and exits 1 on any breaking change, naming it, and 2 when the tool or a file is
//!   missing (`bash xtask/optic/install.sh` installs the tool).
//! - `cargo xtask openapi --breaking-selftest` proves that gate on temporary copies of
//!   `openapi.yaml`: a removed response property and an optional request property or query
//!   parameter made required fail it; an added endpoint or optional response property pass.
//! - `cargo xtask bench [-- ARGS]` builds the release server and runs the delete benchmark,
//!   `cargo run --release -p crm-bench -- ARGS` (see `crates/crm-bench`; `-- --help` lists the
//!   options), and exits with its status.

mod breaking;

use std::{
    path::Path,
    process::{Command, ExitCode},
};

use crm_server::openapi::{
    Freshness, REGENERATE_COMMAND, committed_path, document_yaml, freshness,
};

const USAGE: &str = "usage: cargo xtask openapi [--check]
       cargo xtask openapi --breaking [--spec FILE] [--against FILE]
       cargo xtask openapi --breaking-selftest
       cargo xtask bench [-- ARGS]";

/// Exit code of a stale file, and of a breaking change.
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
        ["openapi", "--breaking", rest @ ..] => breaking::command(rest),
        ["openapi", "--breaking-selftest"] => breaking::selftest(),
        ["bench", rest @ ..] => bench(rest),
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

/// Builds the release server, then runs `crm-bench` in release mode with `args` (a leading `--`
/// is dropped), from the workspace root; exits with the benchmark's status.
fn bench(args: &[&str]) -> ExitCode {
    let args = match args {
        ["--", rest @ ..] => rest,
        rest => rest,
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let run = |what: &[&str]| {
        Command::new(&cargo)
            .args(what)
            .current_dir(root)
            .status()
            .map_err(|error| eprintln!("error: cannot run {cargo}: {error}"))
    };
    match run(&["build", "--release", "-p", "crm-server"]) {
        Ok(status) if status.success() => {}
        Ok(_) => return ExitCode::from(BROKEN),
        Err(()) => return ExitCode::from(BROKEN),
    }
    let mut command = vec!["run", "--release", "-p", "crm-bench", "--"];
    command.extend_from_slice(args);
    match run(&command) {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ),
        Err(()) => ExitCode::from(BROKEN),
    }
}
