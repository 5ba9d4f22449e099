//! `crm-server`: see `crm-server --help`.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    crm_server::cli::run()
}

/// glibc's allocator gives every thread that allocates at the same time as another an arena of
/// its own (up to 8 per core), and what a thread frees stays in its arena: under load (the HTTP
/// workers and SQLite's connection threads all allocating) the server's peak memory grew to
/// 62–66 MiB on SQLite, against 50 MiB with two arenas and the same throughput (measured with
/// `cargo xtask bench`; mimalloc, tried instead, peaked at 102–121 MiB). Called before any
/// thread is started. The one `unsafe` of the workspace (whose lints deny it everywhere else).
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets a tuning parameter of the allocator; it is called before this
    // process starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
