//! Deletes a contact and prints it as the server returned it.
//!
//! ```text
//! cargo run -p crm-client --example delete_contact -- --url http://127.0.0.1:8080 --key KEY 42
//! ```

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
    match client.delete_contact(args.id).await {
        Ok(response) => {
            let contact = response.into_inner();
            match serde_json::to_string_pretty(&contact) {
                Ok(json) => println!("{json}"),
                Err(error) => eprintln!("error: {error}"),
            }
            std::process::ExitCode::SUCCESS
        }
        Err(crm_client::Error::ErrorResponse(response)) => {
            let status = response.status();
            let body = response.into_inner();
            eprintln!("error: {} {}: {}", status.as_u16(), body.code, body.message);
            std::process::ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
