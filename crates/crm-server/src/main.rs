//! `crm-server`: see `crm-server --help`.

fn main() -> std::process::ExitCode {
    crm_server::cli::run()
}
