//! Deletes several contacts in one request, says which were deleted and which were skipped, then
//! restores one of them from the trash and prints it.
//!
//! ```text
//! cargo run -p crm-client --example batch_delete -- --url http://127.0.0.1:8080 --key KEY 2 4 9 999
//! ```
//!
//! The batch delete (`PUT /api/2.0/crm/contact`) answers with the contacts it deleted; as in
//! ONLYOFFICE, the IDs that name no contact, and the contacts the caller may not delete, are
//! skipped rather than refused, so the program learns what was skipped by comparing the `ID`s of
//! the answer with the IDs it sent. It then restores the first deleted contact (or the one
//! `--restore` names; `--no-restore` leaves them all in the trash) with
//! `POST /api/2.0/crm/contact/{contactid}/restore`, which brings it back under the same ID.
//!
//! Over the key's budget the server answers 429 with `Retry-After` (seconds) and the typed
//! `Error`: the program says which request was refused and when to try again, and exits with 75
//! (`EX_TEMPFAIL`). A refused batch deleted nothing, so sending it again is safe.

use std::num::NonZeroU32;
use std::process::ExitCode;

use clap::Parser;

/// Delete several contacts at once from a CRM contacts server, then restore one of them.
#[derive(Debug, Parser)]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The API key.
    #[arg(long, env = "CRM_API_KEY")]
    key: String,
    /// The contact to restore afterwards (default: the first one deleted).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    restore: Option<u32>,
    /// Restore nothing: leave every deleted contact in the trash.
    #[arg(long, conflicts_with = "restore")]
    no_restore: bool,
    /// The IDs of the contacts to delete (1 to 500 of them).
    #[arg(required = true, num_args = 1..=500, value_parser = clap::value_parser!(i64).range(1..=i32::MAX as i64))]
    ids: Vec<i64>,
}

/// The exit status of a refusal that may pass later (sysexits.h): here a 429.
const EX_TEMPFAIL: u8 = 75;

/// Why the program stopped.
struct Failure {
    message: String,
    /// Over the rate limit (429): it may pass after `Retry-After`.
    rate_limited: bool,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self {
            message,
            rate_limited: false,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

/// What `request` met: the server's `Error` when there is one, and for a 429 (over the rate
/// limit) how long the server asks to wait (`Retry-After`) and the budget (`RateLimit-Policy`).
fn describe(request: &str, error: crm_client::Error<crm_client::types::Error>) -> Failure {
    let wait = crm_client::retry_after(&error);
    match error {
        crm_client::Error::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let policy = response
                .headers()
                .get("ratelimit-policy")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let body = response.into_inner();
            let mut message = format!("{request}: {status} {}: {}", body.code, body.message);
            if let Some(wait) = wait {
                let policy = policy.as_deref().unwrap_or("-");
                message.push_str(&format!(
                    " (Retry-After: {} s; RateLimit-Policy: {policy})",
                    wait.as_secs()
                ));
            }
            Failure {
                message,
                rate_limited: wait.is_some(),
            }
        }
        error => format!("{request}: {error}").into(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if failure.rate_limited {
                ExitCode::from(EX_TEMPFAIL)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(args: Args) -> Result<(), Failure> {
    let client = crm_client::connect(&args.url, &args.key).map_err(|error| error.to_string())?;

    // The IDs as the server counts them: each once, in the order given.
    let mut sent: Vec<i64> = Vec::with_capacity(args.ids.len());
    for id in &args.ids {
        if !sent.contains(id) {
            sent.push(*id);
        }
    }
    let body = crm_models::BatchDelete {
        contactids: sent.clone(),
    };
    let deleted = client
        .delete_contacts(&body)
        .await
        .map_err(|error| describe("PUT /api/2.0/crm/contact", error))?
        .into_inner();

    // What was skipped: the IDs sent that the answer does not hold.
    let skipped: Vec<i64> = sent
        .iter()
        .copied()
        .filter(|id| !deleted.iter().any(|contact| i64::from(contact.id) == *id))
        .collect();
    println!("deleted {} of {} contacts:", deleted.len(), sent.len());
    for contact in &deleted {
        println!("  {:>5}  {}", contact.id, contact.display_name);
    }
    if skipped.is_empty() {
        println!("skipped none");
    } else {
        let list: Vec<String> = skipped.iter().map(i64::to_string).collect();
        println!(
            "skipped {} (no such contact, or not yours to delete): {}",
            skipped.len(),
            list.join(", ")
        );
    }

    if args.no_restore {
        return Ok(());
    }
    let restore = match args.restore {
        Some(id) => id,
        None => match deleted.first() {
            Some(contact) => u32::try_from(contact.id).map_err(|error| error.to_string())?,
            None => {
                println!("nothing to restore: no contact was deleted");
                return Ok(());
            }
        },
    };
    let id = NonZeroU32::new(restore).ok_or("a contact ID is at least 1")?;
    let restored = client
        .restore_contact(id)
        .await
        .map_err(|error| describe(&format!("POST /api/2.0/crm/contact/{id}/restore"), error))?
        .into_inner();
    println!(
        "restored {} ({}) under the same ID:",
        restored.id, restored.display_name
    );
    let json = serde_json::to_string_pretty(&restored).map_err(|error| error.to_string())?;
    println!("{json}");
    Ok(())
}
