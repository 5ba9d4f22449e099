//! Who is acting: what the domain needs to know of the user behind a request or a command.

use uuid::Uuid;

/// The user on whose behalf something is done: its ID (recorded as creator, deleter, …) and
/// whether it is a portal administrator (who may do everything). Built by `auth` from an API
/// key, or by `users` for the command line and the demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The user's ID.
    pub id: Uuid,
    /// Whether the user is a portal administrator.
    pub is_admin: bool,
}
