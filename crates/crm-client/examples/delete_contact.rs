//! Deletes a contact and prints it as the server returned it.
//!
//! ```text
//! cargo run -p crm-client --example delete_contact -- --url http://127.0.0.1:8080 --key KEY 42
//! ```
//!
//! Over the key's budget the server answers 429, `Retry-After` (seconds) and the typed `Error`
//! (`Code` `rate_limited`): the program says how long to wait and exits with 75 (`EX_TEMPFAIL`,
//! "try again later") rather than 1, so a script can tell the two apart.

use clap::Parser;

/// Delete a contact from a CRM contacts server and print it.
#[derive(Debug, Parser)]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The API key.
    #[arg(long, env = "CRM_API_KEY")]
    key: String,
    /// The ID of the contact to delete.
    id: std::num::NonZeroU32,
}

/// The exit status of a refusal that may pass later (sysexits.h): here a 429.
const EX_TEMPFAIL: u8 = 75;

/// A header of `response` as text, or `-`.
fn header<T>(response: &crm_client::ResponseValue<T>, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let client = match crm_client::connect(&args.url, &args.key) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let error = match client.delete_contact(args.id).await {
        Ok(response) => {
            let contact = response.into_inner();
            match serde_json::to_string_pretty(&contact) {
                Ok(json) => println!("{json}"),
                Err(error) => eprintln!("error: {error}"),
            }
            return std::process::ExitCode::SUCCESS;
        }
        Err(error) => error,
    };
    // A 429 (over the budget): how long the server asks to wait. Nothing was deleted; the same
    // request may be sent again after that.
    let wait = crm_client::retry_after(&error);
    match error {
        crm_client::Error::ErrorResponse(response) => {
            let status = response.status();
            let policy = header(&response, "ratelimit-policy");
            let body = response.into_inner();
            eprintln!("error: {} {}: {}", status.as_u16(), body.code, body.message);
            if let Some(wait) = wait {
                eprintln!(
                    "over the rate limit (RateLimit-Policy: {policy}): try again in {} s (Retry-After)",
                    wait.as_secs()
                );
                return std::process::ExitCode::from(EX_TEMPFAIL);
            }
            std::process::ExitCode::FAILURE
        }
        error => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
